/// `schema.graphql` is generated (`just schema`); this fails when the code and file drift.
#[test]
fn schema_graphql_matches_the_code() {
    let path = crate::helpers::project_root().join("schema.graphql");
    let on_disk = std::fs::read_to_string(&path).expect("schema.graphql exists");
    let generated = autonomos::graphql::schema::sdl();
    pretty_assertions::assert_eq!(
        on_disk,
        generated,
        "schema.graphql is stale: run `just schema`"
    );
}
