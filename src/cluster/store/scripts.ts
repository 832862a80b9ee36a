/**
 * The Lua scripts every session write runs as (Redis runs a script atomically: no other command
 * sees it half done). Layout of the hash: keys.ts.
 *
 * Every script ends by READING the key it wrote (EXISTS): this node's connection tracks
 * keys with `CLIENT TRACKING ON NOLOOP`, and Redis forgets a key's trackers when the key is
 * modified, also when the writer itself is the skipped NOLOOP tracker. The read inside the script
 * tracks the key again for this connection, so a later write by another node still sends us the
 * invalidation (tracking.ts). Without it the local copy of a session this node wrote would never
 * be invalidated.
 */
export interface LuaScript {
  name: string;
  text: string;
  keys: number;
}

function script(name: string, keys: number, text: string): LuaScript {
  return { name, keys, text };
}

/**
 * Applies `HSET`/`HDEL` in bounded batches: Lua's `unpack` has a stack limit (8000 values), and a
 * session may change thousands of attributes in one request.
 */
const BATCHED = `
local function batched(cmd, key, list, from, to, step)
  local i = from
  while i <= to do
    local j = math.min(to, i + step - 1)
    redis.call(cmd, key, unpack(list, i, j))
    i = j + 1
  end
end
local function ttl(key)
  local mii = tonumber(redis.call('HGET', key, 'm:mii')) or 0
  if mii > 0 then redis.call('PEXPIRE', key, math.floor(mii * 1000)) else redis.call('PERSIST', key) end
  -- The last command on the key is a read: it tracks the key again for this connection.
  redis.call('EXISTS', key)
end
`;

/**
 * create(key; now, creationTime, maxInactiveInterval, nSet, name1, text1, …) → 1, or 0 when the id
 * exists already: a session is never minted over an existing one. Written when the creating
 * request completes, with the attributes it set, in one step.
 */
export const CREATE = script('create', 1, `${BATCHED}
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'm:ctime', ARGV[2], 'm:atime', ARGV[1], 'm:mii', ARGV[3])
local nset = tonumber(ARGV[4])
if nset > 0 then batched('HSET', KEYS[1], ARGV, 5, 4 + 2 * nset, 1000) end
ttl(KEYS[1])
return 1
`);

/**
 * commit(key; now, creationTime, maxInactiveInterval or '', nSet, name1, text1, …, removed names…)
 * → 1, or 0 when the session is gone (invalidated elsewhere, expired) or the key now holds another
 * session (its creation time differs): a late write never brings a session back or lands in
 * another one. Only the attributes the request changed are written; access time and TTL renewed.
 */
export const COMMIT = script('commit', 1, `${BATCHED}
if redis.call('HGET', KEYS[1], 'm:ctime') ~= ARGV[2] then return 0 end
local nset = tonumber(ARGV[4])
if nset > 0 then batched('HSET', KEYS[1], ARGV, 5, 4 + 2 * nset, 1000) end
local rm = 5 + 2 * nset
if rm <= #ARGV then batched('HDEL', KEYS[1], ARGV, rm, #ARGV, 1000) end
if ARGV[3] ~= '' then redis.call('HSET', KEYS[1], 'm:atime', ARGV[1], 'm:mii', ARGV[3])
else redis.call('HSET', KEYS[1], 'm:atime', ARGV[1]) end
ttl(KEYS[1])
return 1
`);

/**
 * rename(old, new) → 1 renamed, 2 already there (another request renamed it first), 0 gone. The
 * route binder's rename and changeSessionId; both keys share a hash slot (keys.ts). RENAME keeps
 * the TTL.
 */
export const RENAME = script('rename', 2, `
local old = redis.call('EXISTS', KEYS[1]) == 1
if redis.call('EXISTS', KEYS[2]) == 1 then return 2 end
if not old then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('EXISTS', KEYS[2])
return 1
`);

/** delete(key; creationTime) → 1 deleted, 0 gone already (or another session under that id, left alone). */
export const DELETE = script('delete', 1, `
if redis.call('HGET', KEYS[1], 'm:ctime') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`);

export const SCRIPTS = [CREATE, COMMIT, RENAME, DELETE];
