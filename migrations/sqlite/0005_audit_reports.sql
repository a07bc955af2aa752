-- Reading the coordinators' picture or the steering group's report is audited too
-- (`picture`, `report`, one line per street). SQLite changes a CHECK only by rebuilding
-- the table.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('read', 'change', 'picture', 'report')),
    doc_id TEXT NOT NULL,
    street_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    address_id TEXT,
    partner TEXT,
    author_actor TEXT,
    author_account_id TEXT
);
INSERT INTO audit_log_new (id, at_ms, account_id, action, doc_id, street_id, kind, address_id,
                           partner, author_actor, author_account_id)
    SELECT id, at_ms, account_id, action, doc_id, street_id, kind, address_id, partner,
           author_actor, author_account_id
    FROM audit_log;
DROP TABLE audit_log;
ALTER TABLE audit_log_new RENAME TO audit_log;
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
