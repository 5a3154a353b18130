-- The expert's identity-provider subject, when the district admin gave it on adding the
-- expert: `expert.registered` carries it, so the access service grants that sign-in the
-- expert role for the expert id.
ALTER TABLE experts ADD COLUMN subject text;
