-- Keyword search and fast listings.
--
-- search_text is shop-core's catalog::search_text of the product (title,
-- long title and description, lower-cased), written by the store; a trigram
-- FTS5 index over it answers keywords of three or more characters without a
-- scan. Rows from before this migration are filled in by the store's
-- migrate(). One index per listing order, on-sale first.
ALTER TABLE products ADD COLUMN search_text TEXT;

CREATE VIRTUAL TABLE products_search USING fts5(
    search_text, content='products', content_rowid='id', tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER products_search_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_search(rowid, search_text) VALUES (new.id, new.search_text);
END;
CREATE TRIGGER products_search_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_search(products_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
END;
CREATE TRIGGER products_search_update AFTER UPDATE OF search_text ON products BEGIN
    INSERT INTO products_search(products_search, rowid, search_text)
        VALUES ('delete', old.id, old.search_text);
    INSERT INTO products_search(rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE INDEX products_listing_newest ON products(on_sale, id);
CREATE INDEX products_listing_price ON products(on_sale, CAST(price AS REAL), id);
CREATE INDEX products_listing_price_newest ON products(on_sale, CAST(price AS REAL), id DESC);
CREATE INDEX products_listing_sold ON products(on_sale, sold_count, id);
CREATE INDEX products_listing_rating ON products(on_sale, CAST(rating AS REAL), id);
CREATE INDEX products_listing_reviews ON products(on_sale, review_count, id);
