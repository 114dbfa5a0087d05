-- wrk: cycle through the URLs in $URLS_FILE (one path a line), each thread from its own
-- starting point, so the run is spread over every URL rather than one cached answer.
local urls = {}
local next_index = 1

function init(args)
  for line in io.lines(os.getenv("URLS_FILE")) do
    if #line > 0 then urls[#urls + 1] = line end
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16) % 100000)
  next_index = math.random(#urls)
end

function request()
  local path = urls[next_index]
  next_index = next_index % #urls + 1
  return wrk.format("GET", path)
end
