DROP FUNCTION IF EXISTS unified_ids_containing(text, jsonb);
DROP FUNCTION IF EXISTS unified_ids_matching(text, tsquery);
DROP TABLE IF EXISTS survivorship_rules, unified_history, match_decisions, match_candidates,
    unified_records, record_links, record_keys;
