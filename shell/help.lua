-- The REPL's `help`: one line per command and per function of the `l4`
-- table, and the whole documented text of one. The text of the `l4` table
-- has one source, docs/lua-api.md: the build packs it into the scripts
-- archive as doc/lua-api.md, and this file reads its tables: under each
-- "## Section", every row whose first cell is code naming a function or a
-- method (`l4.task.spawn{...}`, `fp:map_item(...)`) is an entry, its
-- second cell the description. At run time the live `l4` table is walked:
-- what it has that the document does not describe is listed as
-- undocumented (tests/repl checks that the running system has nothing
-- of the kind). `help <module>` shows the comment a module of the
-- archive starts with (`help service`, `help supervisor`).
-- Captured now: a person at the prompt may change the globals.
local io, ipairs, next, pairs, pcall, rawget, type = io, ipairs, next, pairs, pcall, rawget, type
local string = { find = string.find, format = string.format, gsub = string.gsub,
                 match = string.match, rep = string.rep, sub = string.sub,
                 gmatch = string.gmatch }
local table = { concat = table.concat, sort = table.sort, move = table.move }
local package = package

local help = {}

-- Where the document is: the archive's copy, or the repository's (host tests).
help.paths = { "doc/lua-api.md", "docs/lua-api.md" }

-- Markdown of a table cell as plain text.
local function plain(s)
  s = string.gsub(s, "\\|", "|")
  s = string.gsub(s, "`", "")
  s = string.gsub(s, "%*", "")
  s = string.gsub(s, "%[([^%]]*)%]%([^)]*%)", "%1")     -- [text](link) -> text
  return (string.gsub(s, "^%s*(.-)%s*$", "%1"))
end

-- The cells of a table row (an escaped \| stays in its cell).
local function cells(row)
  local out, cur, i = {}, {}, 2
  while i <= #row do
    local c = string.sub(row, i, i)
    if c == "\\" and string.sub(row, i + 1, i + 1) == "|" then
      cur[#cur + 1] = "\\|"
      i = i + 2
    elseif c == "|" then
      out[#out + 1] = table.concat(cur)
      cur = {}
      i = i + 1
    else
      cur[#cur + 1] = c
      i = i + 1
    end
  end
  return out
end

-- Whether a row's first cell names a function, a method or a field of
-- an object (not an option, a message or a code).
local function is_entry(first)
  if not string.find(first, "^%s*`") then return false end
  local sig = plain(first)
  return string.find(sig, "^l4%.") ~= nil or string.find(sig, "^%a[%w_]*[:.]%a") ~= nil
end

-- { {title, { {signature, description}, ... }}, ... } of a document's text.
function help.parse(text)
  local sections, cur = {}, nil
  for line in string.gmatch(text, "[^\n]*") do
    local title = string.match(line, "^##+%s+(.-)%s*$")
    if title then
      cur = { title, {} }
      sections[#sections + 1] = cur
    elseif cur and string.find(line, "^|") then
      local c = cells(line)
      if c[1] and c[2] and is_entry(c[1]) then
        local e = cur[2]
        e[#e + 1] = { plain(c[1]), plain(c[2]) }
      end
    end
  end
  local out = {}
  for _, s in ipairs(sections) do
    if #s[2] > 0 then out[#out + 1] = s end
  end
  return out
end

local loaded = nil
-- The sections of docs/lua-api.md (read once), or nil and why.
function help.sections()
  if loaded then return loaded end
  for _, p in ipairs(help.paths) do
    local f = io.open(p, "r")
    if f then
      local text = f:read("a")
      f:close()
      if text then
        loaded = help.parse(text)
        return loaded
      end
    end
  end
  return nil, "the l4 reference (doc/lua-api.md) is not in the archive"
end

-- The l4 function a signature names first ("l4.io.inb"), or nil for a method.
local function fname(sig)
  return string.match(sig, "^(l4%.[%w_.]+)")
end

-- Every l4 name a signature gives: "l4.io.inb/inw/inl(port)" three,
-- "l4.task._probe([v]), l4.task._fault(kind)" two.
local function fnames(sig)
  local out = {}
  for part in string.gmatch(sig, "l4%.[%w_./]+") do
    local first, alts = string.match(part, "^(l4%.[%w_.]-)(/[%w_/]*)$")
    if not first then first, alts = part, "" end
    first = string.gsub(first, "%.$", "")
    out[#out + 1] = first
    local prefix = string.match(first, "^(.*%.)[%w_]+$")
    for alt in string.gmatch(alts, "[%w_]+") do out[#out + 1] = prefix .. alt end
  end
  return out
end

-- Every function of the live l4 table (and of its tables) by full name.
local function live_functions(l4)
  local found = {}
  if type(l4) ~= "table" then return nil end
  for k, v in next, l4 do
    if type(k) == "string" then
      if type(v) == "function" then
        found["l4." .. k] = true
      elseif type(v) == "table" then
        for k2, v2 in next, v do
          if type(k2) == "string" and type(v2) == "function" then
            found["l4." .. k .. "." .. k2] = true
          end
        end
      end
    end
  end
  return found
end

-- The names the document describes.
function help.described()
  local d = {}
  for _, sec in ipairs(help.sections() or {}) do
    for _, e in ipairs(sec[2]) do
      for _, n in ipairs(fnames(e[1])) do d[n] = true end
    end
  end
  return d
end

-- Functions the live table has and the document does not describe.
function help.undocumented(l4)
  local live, d, list = live_functions(l4) or {}, help.described(), {}
  for n in pairs(live) do
    if not d[n] then list[#list + 1] = n end
  end
  table.sort(list)
  return list
end

-- "  signature   description" for the overview: the description cut to
-- what fits a line, under a long signature on a line of its own.
local WIDTH = 100
local function line(sig, desc)
  local room = WIDTH - 37
  if #desc > room then
    local cut = string.match(string.sub(desc, 1, room - 3), "^(.*)[%s,;]") or string.sub(desc, 1, room - 3)
    desc = cut .. "..."
  end
  if #sig >= 34 then return "  " .. sig .. "\n" .. string.rep(" ", 37) .. desc end
  return "  " .. sig .. string.rep(" ", 35 - #sig) .. desc
end

-- The whole description, wrapped, under its signature.
local function full(sig, desc)
  local out, cur = { "  " .. sig }, "    "
  for word in string.gmatch(desc, "%S+") do
    if #cur + #word + 1 > WIDTH - 4 and #cur > 4 then
      out[#out + 1] = cur
      cur = "    "
    end
    cur = cur .. (#cur > 4 and " " or "") .. word
  end
  if #cur > 4 then out[#out + 1] = cur end
  return table.concat(out, "\n")
end

-- The comment a module of the archive starts with, or nil.
function help.module_text(name)
  if not string.find(name, "^[%w_][%w_.]*$") then return nil end
  local path = package.searchpath(name, package.path)
  local f = path and io.open(path, "r")
  if not f then return nil end
  local out = {}
  for l in f:lines() do
    local text = string.match(l, "^%-%-+ ?(.*)$")
    if not text then break end
    out[#out + 1] = "  " .. text
  end
  f:close()
  if #out == 0 then return nil end
  return table.concat(out, "\n")
end

-- The text of `help [topic]`; cmds is the commands object (its registry
-- and env).
function help.render(cmds, topic)
  local out = {}
  local list = cmds.by_name
  local l4 = rawget(cmds.env, "l4")
  if l4 == nil then
    local ok, v = pcall(function() return cmds.env.l4 end)
    l4 = ok and v or nil
  end
  local live = live_functions(l4)
  local sections, why = help.sections()
  if topic == nil then
    out[#out + 1] = "Commands (or call them as functions: ps(), kill(5), reload(\"echo\"), help(\"l4.task\")):"
    for _, c in ipairs(cmds.order) do out[#out + 1] = line(c.usage, c.desc) end
    out[#out + 1] = "Lua: type a statement or an expression; =expr prints it too."
    out[#out + 1] = "Safe mode (no user script runs): `make run SAFE=1`, GRUB's \"L4ua (safe mode)\", or a key typed in the first second of boot (docs/recovery.md)."
    out[#out + 1] = "The l4 table (docs/lua-api.md; help l4.task for one part, help l4.task.spawn for one"
      .. " function, help service for a module):"
    if not sections then out[#out + 1] = "  (" .. why .. ")" end
  end
  local shown = 0
  if topic and list[topic] then
    local c = list[topic]
    out[#out + 1] = line(c.usage, c.desc)
    if c.more then out[#out + 1] = c.more end
    shown = 1
  else
    for _, sec in ipairs(sections or {}) do
      local rows = {}
      for _, e in ipairs(sec[2]) do
        local n = fname(e[1])

        local exact = topic and n == topic
        local present = not n or not live or live[n] or n == "l4.kip" or exact
        local match = topic == nil or exact or (n and string.sub(n, 1, #topic + 1) == topic .. ".")
        if present and match then rows[#rows + 1] = exact and full(e[1], e[2]) or line(e[1], e[2]) end
      end
      if #rows > 0 then
        if topic == nil then out[#out + 1] = sec[1] .. ":" end
        table.move(rows, 1, #rows, #out + 1, out)
        shown = shown + #rows
      end
    end
    local undoc = {}
    for _, n in ipairs(help.undocumented(l4)) do
      if topic == nil or n == topic or string.sub(n, 1, #topic + 1) == topic .. "." then
        undoc[#undoc + 1] = line(n, "(undocumented)")
      end
    end
    if #undoc > 0 then
      if topic == nil then out[#out + 1] = "Undocumented:" end
      table.move(undoc, 1, #undoc, #out + 1, out)
      shown = shown + #undoc
    end
    if topic and shown == 0 then
      local text = help.module_text(topic)
      if text then
        out[#out + 1] = "module " .. topic .. " (" .. package.searchpath(topic, package.path) .. "):"
        out[#out + 1] = text
        shown = 1
      end
    end
  end
  if topic and shown == 0 then out[#out + 1] = "help: nothing on " .. topic end
  return table.concat(out, "\n") .. "\n"
end

return help
