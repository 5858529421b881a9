-- The REPL's printer of results: values as a person wants to read them.
-- Numbers as Lua prints them, strings quoted, tables nested (depth and item
-- limits, keys sorted, cycles marked), values with __tostring by it.
-- Lines end in "\n"; the REPL turns them into "\r\n" for the terminal.
-- Captured now: a person at the prompt may change the globals.
local getmetatable, ipairs, next, pcall, rawget, select, tostring, type =
  getmetatable, ipairs, next, pcall, rawget, select, tostring, type
local math = { type = math.type, huge = math.huge, min = math.min, max = math.max,
               tointeger = math.tointeger }
local table = { concat = table.concat, sort = table.sort, pack = table.pack,
                unpack = table.unpack, move = table.move, remove = table.remove }
local debug = { getinfo = debug.getinfo, traceback = debug.traceback }
local pretty = {}

pretty.depth = 3          -- tables nested deeper show as {...}
pretty.items = 40         -- entries shown per table; the rest are counted
pretty.width = 72         -- a table that fits on one line stays on one line
pretty.strlen = 4000      -- longer strings are cut (the length is shown)

local escapes = { ["\n"] = "\\n", ["\t"] = "\\t", ["\r"] = "\\r", ["\\"] = "\\\\",
                  ['"'] = '\\"', ["\a"] = "\\a", ["\b"] = "\\b", ["\f"] = "\\f",
                  ["\v"] = "\\v" }

-- A string in double quotes, readable: common escapes by name, other
-- control bytes as \ddd, bytes >= 0x80 (UTF-8) as they are.
local function quote(s, limit)
  local cut = ""
  if #s > limit then
    cut = ("...(%d bytes)"):format(#s)
    s = s:sub(1, limit)
  end
  s = s:gsub('[%c"\\]', function(c)
    return escapes[c] or ("\\%03d"):format(c:byte())
  end)
  return '"' .. s .. '"' .. cut
end
pretty.quote = function(s) return quote(s, math.huge) end

-- tostring through __tostring, which may fail or return a non-string.
local function safe_tostring(v)
  local ok, s = pcall(tostring, v)
  if ok and type(s) == "string" then return s end
  local mt = getmetatable(v)
  return ("<%s: __tostring failed: %s>"):format(
    type(mt) == "table" and rawget(mt, "__name") or type(v),
    ok and "not a string" or tostring(s))
end

local function has_tostring(v)
  local mt = getmetatable(v)
  -- a protected metatable (a string in __metatable) still has a real one,
  -- but we cannot see it: tostring decides then.
  if type(mt) ~= "table" then return mt ~= nil end
  return rawget(mt, "__tostring") ~= nil
end

local function funcname(f)
  local info = debug.getinfo(f, "S")
  if info and info.what == "C" then return "function: builtin" end
  return tostring(f)
end

local keywords = {}
for w in ([[and break do else elseif end false for function goto if in
  local nil not or repeat return then true until while]]):gmatch("%a+") do
  keywords[w] = true
end

local function is_name(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") and not keywords[k]
end

-- Order of keys: numbers (by value), then strings, then the rest by type
-- name and tostring: deterministic for a person comparing outputs.
local rank = { number = 1, string = 2, boolean = 3 }
local function key_less(a, b)
  local ta, tb = type(a), type(b)
  local ra, rb = rank[ta] or 4, rank[tb] or 4
  if ra ~= rb then return ra < rb end
  if ta == "number" or ta == "string" then
    if ta == tb then return a < b end
  end
  if ta ~= tb then return ta < tb end
  return safe_tostring(a) < safe_tostring(b)
end

local format

local function format_key(k, ctx)
  if is_name(k) then return k end
  return "[" .. format(k, ctx, math.huge) .. "]"
end

local function format_table(t, ctx, level)
  if ctx.path[t] then return "<cycle: " .. safe_tostring(t):gsub("^table: ", "") .. ">" end
  if level > ctx.depth then return next(t) == nil and "{}" or "{...}" end
  ctx.path[t] = true
  local parts, n = {}, 0
  -- the sequence 1..k first, in order, without keys
  local k = 1
  while rawget(t, k) ~= nil and n < ctx.items do
    n = n + 1
    parts[n] = format(rawget(t, k), ctx, level + 1)
    k = k + 1
  end
  local seq = k - 1
  local keys = {}
  for key in next, t do
    if not (math.type(key) == "integer" and key >= 1 and key <= seq) then
      keys[#keys + 1] = key
    end
  end
  local more = 0
  if rawget(t, k) ~= nil then -- the sequence itself was cut
    for i = k, math.huge do
      if rawget(t, i) == nil then break end
      more = more + 1
    end
  end
  table.sort(keys, key_less)
  for _, key in ipairs(keys) do
    if math.type(key) == "integer" and key >= k and key < k + more then
      -- counted with the cut sequence above
    elseif n < ctx.items then
      n = n + 1
      parts[n] = format_key(key, ctx) .. " = " .. format(rawget(t, key), ctx, level + 1)
    else
      more = more + 1
    end
  end
  if more > 0 then n = n + 1; parts[n] = ("...(%d more)"):format(more) end
  ctx.path[t] = nil
  if n == 0 then return "{}" end
  local one = "{" .. table.concat(parts, ", ") .. "}"
  if #one + level * 2 <= ctx.width and not one:find("\n", 1, true) then return one end
  local pad = ("  "):rep(level)
  return "{\n" .. pad .. table.concat(parts, ",\n" .. pad) .. "\n" .. ("  "):rep(level - 1) .. "}"
end

-- level: 1 for a value at the top.
function format(v, ctx, level)
  local tv = type(v)
  if tv == "string" then
    return quote(v, level == 1 and ctx.strlen or math.min(ctx.strlen, 200))
  elseif tv == "number" or tv == "boolean" or tv == "nil" then
    return tostring(v)
  elseif tv == "function" then
    return funcname(v)
  elseif has_tostring(v) then
    return safe_tostring(v)
  elseif tv == "table" then
    return format_table(v, ctx, level)
  end
  return safe_tostring(v)
end

-- pretty.format(v, [opts]) -> string: opts may set depth, items, width, strlen.
function pretty.format(v, opts)
  opts = opts or {}
  local ctx = { path = {}, depth = opts.depth or pretty.depth,
                items = opts.items or pretty.items, width = opts.width or pretty.width,
                strlen = opts.strlen or pretty.strlen }
  return format(v, ctx, 1)
end

-- pretty.results(n, ...) -> the n values, formatted and separated by tabs.
function pretty.results(n, ...)
  local out = {}
  for i = 1, n do out[i] = pretty.format((select(i, ...))) end
  return table.concat(out, "\t")
end

return pretty
