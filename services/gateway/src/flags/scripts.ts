// The flag store's Lua scripts. Each runs atomically in Redis, so a flag and its history entry always
// change together, and replicas racing on the same flag see one winner.

/** HGETALL as a table, or nil when the hash does not exist. */
const READ_HASH = `
local function read(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then return nil end
  local hash = {}
  for i = 1, #flat, 2 do hash[flat[i]] = flat[i + 1] end
  return hash
end
local function record(historyKey, at, by, old, new, limit)
  local entry = cjson.encode({ at = at, by = by, old = old or cjson.null, new = new })
  redis.call('LPUSH', historyKey, entry)
  redis.call('LTRIM', historyKey, 0, tonumber(limit) - 1)
  return entry
end
`;

/**
 * Reads a flag; writes the given fields only when the hash does not exist, so nothing ever overwrites a
 * value someone set, recording the write in the history unless `by` is empty.
 * KEYS: flag, history. ARGV: at, by, history limit, field, value, ... Returns { wrote 0/1, HGETALL }.
 */
export const READ_OR_RESTORE = `${READ_HASH}
if redis.call('EXISTS', KEYS[1]) == 1 then return { 0, redis.call('HGETALL', KEYS[1]) } end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
if ARGV[2] ~= '' then record(KEYS[2], ARGV[1], ARGV[2], nil, read(KEYS[1]), ARGV[3]) end
return { 1, redis.call('HGETALL', KEYS[1]) }`;

/**
 * Sets some fields of a flag and records old and new whole in the history. A missing hash is first
 * given `base` (the value this gateway routes on), so a partial change never leaves a partial flag.
 * KEYS: flag, history. ARGV: at, by, history limit, base (JSON object), field, value, ... Returns the entry.
 */
export const UPDATE = `${READ_HASH}
local old = read(KEYS[1])
if not old then
  for field, value in pairs(cjson.decode(ARGV[4])) do redis.call('HSET', KEYS[1], field, value) end
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
return record(KEYS[2], ARGV[1], ARGV[2], old, read(KEYS[1]), ARGV[3])`;

/**
 * Writes several whole values at once, each flag only where a field differs, one history entry per
 * changed flag. KEYS: flag1, history1, flag2, history2, ... ARGV: at, by, history limit, JSON array of
 * hashes in the order of KEYS. Returns the position (1-based) and entry of each flag written.
 */
export const IMPORT = `${READ_HASH}
local entries = {}
for i, wanted in ipairs(cjson.decode(ARGV[4])) do
  local flagKey, historyKey = KEYS[2 * i - 1], KEYS[2 * i]
  local old = read(flagKey)
  local changed = old == nil
  for field, value in pairs(wanted) do
    if not old or old[field] ~= value then changed = true end
  end
  if changed then
    for field, value in pairs(wanted) do redis.call('HSET', flagKey, field, value) end
    table.insert(entries, tostring(i))
    table.insert(entries, record(historyKey, ARGV[1], ARGV[2], old, read(flagKey), ARGV[3]))
  end
end
return entries`;
