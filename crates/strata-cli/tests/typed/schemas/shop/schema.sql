-- A table with every kind of column the generated types map differently.
CREATE SCHEMA shop;

CREATE TYPE shop.status AS ENUM ('draft', 'in stock', 'sold out');

CREATE DOMAIN shop.sku AS text CHECK (VALUE ~ '^[A-Z]+-[0-9]+$');

CREATE TABLE shop.items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku shop.sku NOT NULL UNIQUE,
    status shop.status NOT NULL DEFAULT 'draft',
    tags text[] NOT NULL DEFAULT '{}',
    price numeric(10, 2),
    attributes jsonb,
    added_on date,
    seen_at timestamptz,
    ref uuid,
    stock integer NOT NULL DEFAULT 0,
    doubled integer GENERATED ALWAYS AS (stock * 2) STORED,
    "Label" text
);
