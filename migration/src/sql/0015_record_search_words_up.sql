-- Unified records are found by every run of letters and digits of their values, whole and split
-- at lower-to-upper humps (`McDonald`: mcdonald, mc, donald), the way a search's words are split;
-- the app now writes these words itself (golden_store::words_of). to_tsvector kept an email or a
-- URL as one word, and "mc" did not find McDonald. Existing rows get the same words here.
UPDATE unified_records u SET search = coalesce((
    SELECT array_to_tsvector(array_agg(DISTINCT left(w, 200)))
    FROM jsonb_each_text(u.data) AS e(k, v),
         regexp_split_to_table(
             lower(v) || ' ' || lower(regexp_replace(v, '([[:lower:][:digit:]])([[:upper:]])', '\1 \2', 'g')),
             '[^[:alnum:]]+') AS w
    WHERE w <> ''), ''::tsvector);
