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
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('read', 'change', 'picture', 'report',
        'asked_erasure', 'asked_consent_withdrawn', 'carried_out', 'access_export'));
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
