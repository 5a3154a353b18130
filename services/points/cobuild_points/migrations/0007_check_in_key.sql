-- The key that signs check-in tokens (the QR code's link): one row, made once here, so every
-- instance of the service signs and checks with the same key and it survives restarts.
-- gen_random_uuid() is PostgreSQL's own CSPRNG; two of them give 244 random bits.
CREATE TABLE check_in_key (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    secret text NOT NULL
);
INSERT INTO check_in_key (secret)
VALUES (replace(gen_random_uuid()::text, '-', '') || replace(gen_random_uuid()::text, '-', ''));
