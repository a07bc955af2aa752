-- The people side: organisations, accounts, who works in which street, sessions, and
-- the audit log of every read and change of residents' data.
CREATE TABLE organisations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    partner TEXT NOT NULL CHECK (partner IN ('corporation', 'care_organisation', 'municipality')),
    created_ms BIGINT NOT NULL
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('community_builder', 'coach', 'coordinator', 'administrator')),
    organisation_id TEXT REFERENCES organisations (id),
    -- An argon2id PHC string; never the password.
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);

CREATE TABLE street_members (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    street_id TEXT NOT NULL,
    PRIMARY KEY (account_id, street_id)
);

-- A session is known by the SHA-256 of its token: the table alone lets no one in.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);
CREATE INDEX sessions_by_account ON sessions (account_id);

CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms BIGINT NOT NULL,
    account_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('read', 'change')),
    doc_id TEXT NOT NULL,
    street_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    address_id TEXT,
    partner TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
