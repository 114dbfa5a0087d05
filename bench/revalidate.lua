-- wrk script: every request sends the ETag of the last 200 this thread saw as If-None-Match, as a
-- browser reloading a page does. A tag also moves with a 10-second clock step, so a run of any
-- length sees a few 200s (one per thread per step) among the 304s; done() counts both.
local etag = nil
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, notModified = 0, 0
end

function request()
  local headers = {}
  for name, value in pairs(wrk.headers) do headers[name] = value end
  if etag then headers["If-None-Match"] = etag end
  return wrk.format(nil, nil, headers)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    etag = headers["ETag"] or headers["etag"]
  elseif status == 304 then
    notModified = notModified + 1
  end
end

function done(summary, latency, requests)
  local rendered, revalidated = 0, 0
  for _, thread in ipairs(threads) do
    rendered = rendered + thread:get("ok")
    revalidated = revalidated + thread:get("notModified")
  end
  io.write(string.format("responses: %d rendered (200), %d not modified (304)\n", rendered, revalidated))
end
