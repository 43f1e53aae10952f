-- Update's writer stores a group of posts it expects to be new with one statement, which is
-- its own transaction (store/postgres.rs, insert-first). Should a post have been stored by a
-- concurrent request after all, the statement calls this, and fails: everything it wrote (the
-- other posts, the outbox row, the audit rows) is undone, and the group is planned again from
-- a read. EI409 is how the writer recognises it.
CREATE FUNCTION engagement_already_stored() RETURNS BIGINT LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a post of this group was stored by a concurrent request'
        USING ERRCODE = 'EI409';
END;
$$;
