UPDATE unified_records u SET search = to_tsvector('simple',
    coalesce((SELECT string_agg(v, ' ') FROM jsonb_each_text(u.data) AS e(k, v)), ''));
