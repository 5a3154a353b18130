-- Members as the points service's events tell them (ids only: names and phones stay in points):
-- who may be assigned to a task or take part in it. member.reported and member.transferred set
-- the unit and the community served; member.left sets left_at; a new report clears it.
CREATE TABLE members (
    member_id    uuid PRIMARY KEY,
    unit_id      uuid        NOT NULL,
    community_id uuid        NOT NULL,
    left_at      timestamptz
);
