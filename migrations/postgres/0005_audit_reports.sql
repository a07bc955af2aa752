-- Reading the coordinators' picture or the steering group's report is audited too
-- (`picture`, `report`, one line per street).
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check
    CHECK (action IN ('read', 'change', 'picture', 'report'));
