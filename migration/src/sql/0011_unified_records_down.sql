DROP TABLE IF EXISTS survivorship_rules, unified_history, match_decisions, match_candidates,
    unified_records, record_links, record_keys;
