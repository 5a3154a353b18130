-- Experts' assignments as the evaluation service's expert.assigned tells them (ids only: the
-- criteria and the expert's name stay in evaluation). An expert assigned to a commitment may
-- read it and list and download its evidence; nothing else (usecases/access.py).
CREATE TABLE expert_assignments (
    assignment_id uuid PRIMARY KEY,
    expert_id     uuid        NOT NULL,
    subject_kind  text        NOT NULL CHECK (subject_kind IN ('commitment', 'agreement')),
    subject_id    uuid        NOT NULL,
    assigned_at   timestamptz NOT NULL,
    UNIQUE (expert_id, subject_kind, subject_id)
);
