-- wrk script: a web app page as a signed-in person (the session cookie from $COOKIE); counts
-- answers that are not 200.
wrk.headers["Cookie"] = os.getenv("COOKIE")

local bad = 0
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end

function done(summary, latency, requests)
  io.write(string.format("non-200 answers: %d\n", bad))
end
