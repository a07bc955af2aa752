-- Every Automerge document the server holds, and what it is about.
CREATE TABLE documents (
    id TEXT PRIMARY KEY NOT NULL,
    street_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('street', 'household', 'confidential')),
    address_id TEXT,
    epoch BIGINT,
    partner TEXT,
    -- The document's current heads, 32 bytes each, so an idle document need not be loaded.
    heads BLOB NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE INDEX documents_by_street ON documents (street_id);

-- A document's content: one compacted snapshot and the change chunks written since.
CREATE TABLE chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_id TEXT NOT NULL REFERENCES documents (id),
    snapshot BIGINT NOT NULL,
    bytes BLOB NOT NULL
);
CREATE INDEX chunks_by_doc ON chunks (doc_id, id);
