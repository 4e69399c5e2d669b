-- Record a job's result and acknowledge its stream entry, atomically.
-- Shared by the Rust worker (src/lib.rs) and the Python one (python/streams_worker.py).
-- KEYS[1] the stream, KEYS[2] the results hash, KEYS[3] the counter of results recorded
-- ARGV[1] the group, ARGV[2] the entry id, ARGV[3] the job id, ARGV[4] the result (JSON)
-- Returns 1 if this call recorded the result, 0 if the job was already done.
local recorded = redis.call('HSETNX', KEYS[2], ARGV[3], ARGV[4])
if recorded == 1 then
    -- The job's effect: applied only by the first worker to finish the job.
    redis.call('INCR', KEYS[3])
end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
return recorded
