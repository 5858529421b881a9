-- services/hello.lua: the example web page of docs/tutorial-http.md. The
-- dashboard's server (port 80) hands it every request under /app/hello/:
-- the label dashboard.HTTP carries method, path, query and body, and the
-- answer is status, content type and body. Edit it on the host and push
-- it: the next request meets the new version, and the count carries over.
local HTTP = 0x48545450         -- dashboard.HTTP ("HTTP")

local function escape(s)
  return (s:gsub("[&<>\"]", {["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;"}))
end

return {
  name = "hello",
  version = 1,

  init = function(state)
    state.visits = 0
  end,

  migrate = function(old)
    return {visits = old.visits or 0}
  end,

  handlers = {
    [HTTP] = function(state, from, method, path, query)
      if method ~= "GET" then return 405, "text/plain", "GET only\n" end
      state.visits = state.visits + 1
      local who = query:match("who=([%w_]+)") or "world"
      -- the page asks itself again every second: a browser watching it
      -- shows the new version within a second of a push
      return 200, "text/html; charset=utf-8", table.concat{
        '<!doctype html><meta http-equiv="refresh" content="1"><title>hello</title>\n',
        "<h1>Hello ", escape(who), ", from version 1</h1>\n",
        "<p>visit ", state.visits, "</p>\n"}
    end,
  },
}
