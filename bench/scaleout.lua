-- wrk script of bench/scaleout.sh: page GETs mixed with form POSTs, as one signed-in operator.
--
-- Run with as many connections as threads (-t N -c N): every thread then has one connection and
-- its own Lua state, so each response() answers the request() just before it, and a request
-- that got no response (a socket error: wrk reconnects and asks for a new request) is seen as
-- such. The mix, per thread:
--   GETs in turn:  /  /deployments  /training/jobs  /training/jobs/{id} (a job's monitor page)
--   POSTs, paced to SCALEOUT_WRITE_RATE per second over all threads, in turn:
--     create   POST /training/jobs                      a new job (name scaleout-t{thread}-{n})
--     start    POST /training/jobs/{id}/start            a job this thread created, oldest first
--     deploy   POST /deployments  job_id=…               a job started SCALEOUT_DEPLOY_AFTER s ago
--     scale    POST /deployments/{id}/scale  replicas=…  one of SCALEOUT_DEPLOYMENTS, 1 → 2 → 3 → 1
--   a kind that has nothing to act on yet gives its turn to the next one.
-- Every POST is answered 303; what it did is in the signed flash cookie (base64url JSON, read
-- here without checking the signature): kind success = committed, error = refused, info =
-- nothing to change. Each POST's outcome, and every non-2xx/3xx answer, is written as one line
-- to SCALEOUT_LOG_DIR/thread-N.log:
--   <unix time> <kind> <status> <outcome> <target> <location>
-- (outcome: success | refused | unchanged | http<status> | noresponse | other). done() prints
-- the counts per kind as "scaleout-count" lines for the report.

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } scaleout_timeval;
  int gettimeofday(scaleout_timeval *tv, void *tz);
]]
local tv = ffi.new("scaleout_timeval")
local function now()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) + tonumber(tv.tv_usec) / 1e6
end

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

local function list(text)
  local out = {}
  for item in string.gmatch(text or "", "[^,%s]+") do out[#out + 1] = item end
  return out
end

-- Shared by every thread's state (each state runs this file once).
local cookie = env("SCALEOUT_COOKIE", "")
local csrf = env("SCALEOUT_CSRF", "")
local model = env("SCALEOUT_MODEL", "")
local epochs = env("SCALEOUT_EPOCHS", "2")
local threads_total = tonumber(env("SCALEOUT_THREADS", "1"))
local write_rate = tonumber(env("SCALEOUT_WRITE_RATE", "8"))
local deploy_after = tonumber(env("SCALEOUT_DEPLOY_AFTER", "6"))
local log_dir = env("SCALEOUT_LOG_DIR", "/tmp")
local seeded_jobs = list(env("SCALEOUT_JOBS", ""))
local deployments = list(env("SCALEOUT_DEPLOYMENTS", ""))

local kinds = { "get_dashboard", "get_deployments", "get_jobs", "get_monitor",
                "post_create", "post_start", "post_deploy", "post_scale" }

-- The main state: one entry per thread, for done().
local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("id", thread_count)
  threads[#threads + 1] = thread
end

-- Per-thread state (globals of the thread's own Lua state). counts is flat, "kind.field" →
-- number: wrk's thread:get crashes copying nested tables.
counts = {}
local fields = { "sent", "answered", "s2", "s3", "s4", "s5", "success", "refused", "unchanged", "other", "noresponse" }
local function bump(kind, field) counts[kind .. "." .. field] = counts[kind .. "." .. field] + 1 end
local log
local calls = 0
-- The request on the wire (globals, so done() can name the ones still in flight at the end).
pending_kind, pending_target = nil, nil
local next_write = 0
local write_interval = 1
local write_turn = 0
local get_turn = 0
local created = 0
local to_start = {}          -- job ids created here and not yet started
local started = {}           -- { id, at } started here, oldest first, not yet deployed
local last_started = nil
local scale_turn = 0

function init(args)
  for _, k in ipairs(kinds) do
    for _, f in ipairs(fields) do counts[k .. "." .. f] = 0 end
  end
  log = assert(io.open(string.format("%s/thread-%d.log", log_dir, id), "w"))
  log:setvbuf("line")
  write_interval = threads_total / write_rate
  -- Threads start their writes spread over one interval, not all at once.
  next_write = now() + write_interval * (id - 1) / threads_total
  -- Spread the seeded deployments over threads so two threads rarely scale the same one.
  scale_turn = id - 1
end

local function form(fields)
  local parts = { "_csrf=" .. csrf }
  for _, kv in ipairs(fields) do parts[#parts + 1] = kv[1] .. "=" .. kv[2] end
  return table.concat(parts, "&")
end

local form_headers = { ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded",
                       ["User-Agent"] = "scaleout-wrk" }
local get_headers = { ["Cookie"] = cookie, ["User-Agent"] = "scaleout-wrk" }

local function post(kind, path, fields, target)
  pending_kind, pending_target = kind, tostring(target)
  bump(kind, "sent")
  return wrk.format("POST", path, form_headers, form(fields))
end

local function get(kind, path, target)
  pending_kind, pending_target = kind, tostring(target)
  bump(kind, "sent")
  return wrk.format("GET", path, get_headers)
end

-- The next write this thread can do, in turn; nil when none can (no deployments to scale and
-- nothing to start or deploy is impossible: create always can).
local function next_post(t)
  for _ = 1, 4 do
    write_turn = write_turn % 4 + 1
    if write_turn == 1 and model ~= "" then
      created = created + 1
      local name = string.format("scaleout-t%d-%d", id, created)
      return post("post_create", "/training/jobs",
        { { "name", name }, { "model", model }, { "epochs", epochs }, { "learning_rate", "0.0003" },
          { "batch_size", "32" }, { "notes", "bench%2Fscaleout.sh" } }, name)
    elseif write_turn == 2 and #to_start > 0 then
      local job = table.remove(to_start, 1)
      return post("post_start", "/training/jobs/" .. job .. "/start", {}, job)
    elseif write_turn == 3 and #started > 0 and t - started[1].at >= deploy_after then
      local job = table.remove(started, 1).id
      return post("post_deploy", "/deployments", { { "job_id", job } }, job)
    elseif write_turn == 4 and #deployments > 0 then
      scale_turn = scale_turn + 1
      local d = deployments[(scale_turn - 1) % #deployments + 1]
      -- 1, 2, 3, 1, …: one thread's consecutive scales of a deployment always change it.
      local replicas = math.floor((scale_turn - 1) / #deployments) % 3 + 1
      return post("post_scale", "/deployments/" .. d .. "/scale", { { "replicas", replicas } }, d .. ":" .. replicas)
    end
  end
  return nil
end

function request()
  calls = calls + 1
  -- wrk calls request() once on the first thread's state to check the script (that request
  -- is never sent): answer it with a request that is not counted.
  if id == 1 and calls == 1 then
    return wrk.format("GET", "/healthz", get_headers)
  end
  local t = now()
  if pending_kind ~= nil then
    -- The previous request got no response (socket error; wrk reconnected).
    bump(pending_kind, "noresponse")
    log:write(string.format("%.3f %s 0 noresponse %s -\n", t, pending_kind, pending_target))
    pending_kind, pending_target = nil, nil
  end
  if t >= next_write then
    -- Paced by wall time; after a stall, catch up by at most one interval.
    next_write = math.max(next_write + write_interval, t)
    local r = next_post(t)
    if r ~= nil then return r end
  end
  get_turn = get_turn % 4 + 1
  if get_turn == 1 then return get("get_dashboard", "/")
  elseif get_turn == 2 then return get("get_deployments", "/deployments")
  elseif get_turn == 3 then return get("get_jobs", "/training/jobs")
  else
    local job = last_started or seeded_jobs[(calls % math.max(#seeded_jobs, 1)) + 1] or "1"
    return get("get_monitor", "/training/jobs/" .. job, job)
  end
end

-- base64url without padding, as the server writes cookie values.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local decode_map = {}
for i = 1, #alphabet do decode_map[alphabet:byte(i)] = i - 1 end
local function b64url_decode(s)
  local out, acc, nbits = {}, 0, 0
  for i = 1, #s do
    local v = decode_map[s:byte(i)]
    if v == nil then break end
    acc = acc * 64 + v
    nbits = nbits + 6
    if nbits >= 8 then
      nbits = nbits - 8
      local p = 2 ^ nbits
      out[#out + 1] = string.char(math.floor(acc / p))
      acc = acc % p
    end
  end
  return table.concat(out)
end

local function header(headers, name)
  local lower = name:lower()
  for k, v in pairs(headers) do
    if k:lower() == lower then return v end
  end
  return nil
end

-- success | refused | unchanged | other, from the flash cookie of a 303.
local function flash_kind(headers)
  local set_cookie = header(headers, "Set-Cookie") or ""
  local value = set_cookie:match("ty_flash=([^;]*)")
  if value == nil or value == "" then return "other" end
  local payload = b64url_decode(value:match("^([^.]*)") or "")
  local kind = payload:match('"kind":"(%a+)"')
  if kind == "success" then return "success"
  elseif kind == "error" then return "refused"
  elseif kind == "info" then return "unchanged"
  end
  return "other"
end

function response(status, headers, body)
  if pending_kind == nil then return end   -- the uncounted first request
  local p = { kind = pending_kind, target = pending_target }
  pending_kind, pending_target = nil, nil
  local t = now()
  bump(p.kind, "answered")
  if status >= 200 and status < 300 then bump(p.kind, "s2")
  elseif status >= 300 and status < 400 then bump(p.kind, "s3")
  elseif status >= 400 and status < 500 then bump(p.kind, "s4")
  else bump(p.kind, "s5") end
  local location = header(headers, "Location") or "-"
  if p.kind:sub(1, 4) ~= "post" then
    if status >= 400 then
      log:write(string.format("%.3f %s %d http%d %s %s\n", t, p.kind, status, status, tostring(p.target), location))
    end
    return
  end
  local outcome
  if status == 303 then outcome = flash_kind(headers) else outcome = "http" .. status end
  if outcome == "success" or outcome == "refused" or outcome == "unchanged" then
    bump(p.kind, outcome)
  else
    bump(p.kind, "other")
  end
  local target = p.target
  if p.kind == "post_create" and outcome == "success" then
    local job = location:match("^/training/jobs/(%d+)$")
    if job ~= nil then
      to_start[#to_start + 1] = job
      target = p.target .. ":" .. job
    end
  elseif p.kind == "post_start" and outcome == "success" then
    started[#started + 1] = { id = p.target, at = t }
    last_started = p.target
  end
  log:write(string.format("%.3f %s %d %s %s %s\n", t, p.kind, status, outcome, tostring(target), location))
end

function done(summary, latency, requests)
  io.write("scaleout-count kind " .. table.concat(fields, " ") .. "\n")
  for _, k in ipairs(kinds) do
    local total = {}
    for _, f in ipairs(fields) do total[f] = 0 end
    for _, thread in ipairs(threads) do
      local c = thread:get("counts")
      for _, f in ipairs(fields) do total[f] = total[f] + c[k .. "." .. f] end
    end
    local row = {}
    for _, f in ipairs(fields) do row[#row + 1] = tostring(total[f]) end
    io.write("scaleout-count " .. k .. " " .. table.concat(row, " ") .. "\n")
  end
  -- Requests on the wire when wrk stopped: never answered, though the server may have done them.
  for _, thread in ipairs(threads) do
    local kind = thread:get("pending_kind")
    if kind ~= nil then io.write("scaleout-inflight " .. kind .. " " .. thread:get("pending_target") .. "\n") end
  end
  io.write(string.format("scaleout-summary requests %d duration_us %d status_errors %d connect %d read %d write %d timeout %d\n",
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
  io.write(string.format("scaleout-latency p50_ms %.1f p99_ms %.1f max_ms %.1f\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
