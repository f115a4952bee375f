-- Keyword search and fast listings.
--
-- search_text is shop-core's catalog::search_text of the product (title,
-- long title and description, lower-cased), written by the store and
-- compared byte for byte (utf8mb4_bin), so matching is the same as on the
-- other backends. Rows from before this migration are filled in by the
-- store's migrate(). One index per listing order, on-sale first.
ALTER TABLE products ADD COLUMN search_text MEDIUMTEXT COLLATE utf8mb4_bin NULL;
-- A description holds 20,000 characters of up to 4 bytes: more than TEXT's
-- 65,535 bytes.
ALTER TABLE products MODIFY description MEDIUMTEXT NOT NULL;
ALTER TABLE skus MODIFY description MEDIUMTEXT NOT NULL;

CREATE INDEX products_listing_newest ON products(on_sale, id);
CREATE INDEX products_listing_price ON products(on_sale, price, id);
CREATE INDEX products_listing_price_newest ON products(on_sale, price, id DESC);
CREATE INDEX products_listing_sold ON products(on_sale, sold_count, id);
CREATE INDEX products_listing_rating ON products(on_sale, rating, id);
CREATE INDEX products_listing_reviews ON products(on_sale, review_count, id);
