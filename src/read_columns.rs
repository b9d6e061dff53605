//! `read_columns!(Model { field, … })`: reads a model type straight from its query's columns of
//! the same names, so domain models stay free of the ORM.

macro_rules! read_columns {
    ($model:ty { $($field:ident),+ $(,)? }) => {
        impl sea_orm::FromQueryResult for $model {
            fn from_query_result(r: &sea_orm::QueryResult, pre: &str) -> Result<Self, sea_orm::DbErr> {
                Ok(Self { $($field: r.try_get(pre, stringify!($field))?),+ })
            }
        }
    };
}

pub(crate) use read_columns;
