-- Keyword search and fast listings.
--
-- search_text is shop-core's catalog::search_text of the product (title,
-- long title and description, lower-cased), written by the store; a pg_trgm
-- GIN index over it answers LIKE '%keyword%' without a scan. pg_trgm ships
-- with PostgreSQL and is a trusted extension (a database owner may create
-- it); where it cannot be created, search works without the index, by a
-- scan. The index names the extension's schema, wherever it was installed.
-- Rows from before this migration are filled in by the store's migrate().
-- One index per listing order, on-sale first.
ALTER TABLE products ADD COLUMN search_text TEXT;

DO $$
DECLARE
    trgm_schema text;
BEGIN
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege OR undefined_file OR feature_not_supported THEN
        RAISE NOTICE 'pg_trgm is not available: keyword search scans the products';
    END;
    SELECT n.nspname INTO trgm_schema
        FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
        WHERE e.extname = 'pg_trgm';
    IF trgm_schema IS NOT NULL THEN
        EXECUTE format(
            'CREATE INDEX products_search ON products USING gin (search_text %I.gin_trgm_ops)',
            trgm_schema
        );
    END IF;
END
$$;

CREATE INDEX products_listing_newest ON products(on_sale, id);
CREATE INDEX products_listing_price ON products(on_sale, price, id);
CREATE INDEX products_listing_price_newest ON products(on_sale, price, id DESC);
CREATE INDEX products_listing_sold ON products(on_sale, sold_count, id);
CREATE INDEX products_listing_rating ON products(on_sale, rating, id);
CREATE INDEX products_listing_reviews ON products(on_sale, review_count, id);
