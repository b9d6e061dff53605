DROP FUNCTION IF EXISTS pending_reviews_total();
