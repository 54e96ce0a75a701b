-- 0010: a generation counter per indexed root, bumped by every transaction that writes its chunks or
-- their vectors (search/_store.py, `writing` and `store_vectors`: as the transaction's last statement, so
-- the root row's lock is never held while chunk rows are locked). A process that keeps a root's vectors
-- in memory for exact dense search (search/_vectors.py) compares it on every search and reloads when it
-- moved, so processes sharing one database stay coherent.
ALTER TABLE code_roots ADD COLUMN generation bigint NOT NULL DEFAULT 0;
