-- A resident's requests (consent withdrawn, erasure) and the register of every document
-- they took away: ids, the door, when and who asked, never content. The server refuses
-- any later change to a registered document for ever (`ReplyStatus::Gone`).
CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    street_id TEXT NOT NULL,
    address_id TEXT NOT NULL,
    request TEXT NOT NULL CHECK (request IN ('consent_withdrawn', 'erasure')),
    asked_by TEXT NOT NULL,
    asked_ms BIGINT NOT NULL,
    done_ms BIGINT
);
CREATE INDEX erasures_by_street ON erasures (street_id);
CREATE TABLE erased_documents (
    doc_id TEXT PRIMARY KEY,
    erasure_id TEXT NOT NULL REFERENCES erasures (id),
    -- What a phone that offers the document is told (`erase::Gone`, as JSON).
    gone TEXT NOT NULL
);
-- Requests are audited: asked, carried out; an access request's export too.
CREATE TABLE audit_log_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('read', 'change', 'picture', 'report',
        'asked_erasure', 'asked_consent_withdrawn', 'carried_out', 'access_export')),
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
-- The retention period's list (`retention`): doors whose household no one touched for
-- the period, since when listed, when an administrator first saw the list (the door is
-- erased a notice period later).
CREATE TABLE retention (
    street_id TEXT NOT NULL,
    address_id TEXT NOT NULL,
    touched_ms BIGINT NOT NULL,
    listed_ms BIGINT NOT NULL,
    seen_ms BIGINT,
    PRIMARY KEY (street_id, address_id)
);
