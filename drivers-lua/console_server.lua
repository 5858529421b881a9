-- A console server (docs/console.md): one terminal, any number of
-- clients, over a backend that moves the bytes (uart16550.lua for a
-- serial line, vgacon.lua for screen and keyboard). It runs in the
-- thread that calls serve(), which gets the backend's interrupts and the
-- clients' requests (console.lua) in one open receive.
--
-- Output: WRITE from anyone, "\n" sent as "\r\n". While a client has an
-- edit line (EDIT), other output clears the line first and redraws it
-- after, so a line being typed is never garbled; lines longer than the
-- screen scroll sideways around the cursor.
-- Input: kept in order (nothing dropped up to `max_input` bytes) until
-- a client READs it; one READ waits at a time: a READ from another
-- client takes over and the one waiting gets label 1 (a reader that died
-- or was restarted must not keep its console from a new one).
-- History: the REPL's lines (HIST_*), kept here so that a restarted
-- session finds them again (docs/console.md "Consoles and sessions").
-- Budget: one request, interrupt or loop of a reloaded version runs at
-- most BUDGET Lua instructions; beyond it the server fails (a runaway
-- driver at priority 200 would starve every thread below it), and the
-- console guardian (scripts/consoles.lua) starts a new one.
-- Ctrl-C typed while nobody reads and no edit line is up (a chunk is
-- running) is not input: the INTR thread gets a NOTE instead.
--
-- A backend without an interrupt line (a TCP connection) has its input
-- handed over by a thread of this task (INPUT), which says HANGUP when
-- the line is gone: the loop returns then. Ctrl-C may interrupt the REPL
-- thread itself (INTR with w1 = 1) where no watcher stands between.
--
-- Fault injection (make faultinject; docs/reliability.md "Fault
-- injection"): the framework's FAULT from the root task arms one fault
-- (scripts/fault.lua, loaded with this module, below), which the next
-- client request (the labels in MEETS) meets. A server with no fault
-- armed pays one field test per request.
--
-- Live reload: the server answers the service framework's PING, INFO and
-- RELOAD (scripts/service_proto.lua), so `reload console console_server.lua`
-- at the REPL, or tools/l4ua, replaces this code in the running driver:
-- the new chunk must return a module with run(st) (and may have
-- migrate(st) -> st); it gets everything the server holds in `st` (the
-- backend, its interrupt, queued input, a waiting reader, the edit line),
-- so no key and no session is lost. A chunk that fails to load or
-- migrate is refused and this version goes on.
local proto = require "console"

local M = {}
M.VERSION = "1"
-- Ctrl-C's NOTE to the INTR thread never blocks this server: the INTR
-- thread (the root's watcher) also calls this server (INFO pings, the
-- kernel's log), and a server blocked in a send to a client that is in a
-- call to it waited out the client's timeout (Ctrl-C stopped a chunk
-- 101 ms late: repl.interrupt_a_chunk_that_waits). The NOTE goes at once
-- if the INTR thread receives; else it is kept and tried again every
-- NOTE_RETRY ms between requests, for NOTE_KEEP ms after the key, then
-- dropped (a hung INTR thread costs the server nothing more).
local NOTE_NOW = {timeout = 0}
local NOTE_RETRY = {receive = 5}
local NOTE_KEEP = 250000           -- us
M.BUDGET = 5000000                  -- Lua instructions per request (see above)
-- The service framework's control labels and reply labels.
local svc = require "service_proto"
local PING, INFO, RELOAD = svc.PING, svc.INFO, svc.RELOAD
local OK, REJECTED = svc.OK, svc.REJECTED
local NOMEM = "not enough memory"   -- Lua's memory error
-- Loaded now, before the server serves anyone, not at the first FAULT: a
-- require is a read through the file service, which may then be in a
-- call to this server (its own output, a WRITE to COM1), and the read
-- would land as that call's reply (the hazard virtio_blk.lua met).
local fault = require "fault"
-- The requests an armed fault may meet: a client's, not the guardian's
-- INFO, the framework's control requests or an interrupt.
local MEETS = {[proto.WRITE] = true, [proto.READ] = true, [proto.EDIT] = true,
               [proto.DONE] = true, [proto.HIST_ADD] = true, [proto.HIST_GET] = true,
               [proto.HIST_SET] = true, [proto.TAIL] = true, [proto.INTR] = true}

local function redraw(edit, col, width)
  local text, start = edit, 1
  if #text >= width then           -- keep the cursor on the screen
    start = math.max(1, col - (width - 10) + 1)
    text = text:sub(start, start + width - 2)
  end
  local back = #text - (col - start + 1)
  return "\r" .. text .. "\27[K" .. (back > 0 and ("\27[" .. back .. "D") or "")
end

function M.serve(backend, opts)
  opts = opts or {}
  return M.run{
    backend = backend, name = opts.name or "console", version = M.VERSION,
    width = opts.width or 80, max_input = opts.max_input or (1 << 20),
    -- a backend with no interrupt line gets its input from a pump (INPUT)
    irq = backend.irq_line and assert(l4.irq.attach(backend:irq_line())) or nil,
    -- queued chunks input[head .. last], their bytes. Explicit ends, not
    -- #input: once the slots before head are nil, # may name one of them,
    -- and a chunk put there was never read while input_n still counted it
    -- (a reader then got "" for ever: a push of 18 KB hung on a busy host)
    input = {}, input_n = 0, head = 1, last = 0,
    reader = nil, reader_max = nil,             -- the client waiting in READ
    edit = nil, edit_col = nil,                 -- the edit line, if one is up
    note_to = nil,                              -- the INTR thread
    stats = {bin = 0, bout = 0, intr = 0, dropped = 0},
    requests = 0, generation = 1, reloads = 0, last_error = "",
    history = {},                               -- the REPL's lines, oldest first
    tail = {}, tail_n = 0,                      -- what was shown last (TAIL)
    early = backend.early,                      -- input that came before the server
  }
end

-- The history as one string (at most HIST_MAX lines, HIST_BYTES bytes).
local function trim_history(h)
  local bytes = 0
  for i = #h, 1, -1 do
    bytes = bytes + #h[i] + 1
    if bytes > proto.HIST_BYTES or #h - i >= proto.HIST_MAX then
      table.move(h, i + 1, #h, 1)
      for k = #h - i + 1, #h do h[k] = nil end
      return
    end
  end
end

-- The budget hook: a count hook, set again (its count restarts) at each
-- turn of the loop, that fails the server if one turn runs too long.
local function over_budget()
  debug.sethook()
  error(("console server: a request ran over its budget of %d instructions"):format(M.BUDGET), 0)
end

-- Compiles a new version of this module and moves the server into it;
-- returns only if that fails (nil, why).
local function reload(st, from, src, chunkname)
  local chunk, err = load(src, chunkname or "=console_server", "t")
  if not chunk then return nil, err end
  local ok, new = pcall(chunk)
  if not ok then return nil, tostring(new) end
  if type(new) ~= "table" or type(new.run) ~= "function" then
    return nil, "the new version returns no module with run(st)"
  end
  local nst = st
  if new.migrate then
    ok, nst = pcall(new.migrate, st)
    if not ok or type(nst) ~= "table" then return nil, "migrate failed: " .. tostring(nst) end
  end
  nst.generation, nst.reloads = st.generation + 1, st.reloads + 1
  nst.version = tostring(new.VERSION or nst.generation)
  package.loaded.console_server = new
  l4.reply(from, OK, nst.generation, nst.version)
  return new.run(nst)               -- a tail call: the old loop is gone
end

function M.run(st)
  local backend, width, max_input, stats = st.backend, st.width, st.max_input, st.stats

  local function out(s)
    stats.bout = stats.bout + #s
    backend:write(s)
  end

  -- Takes up to max bytes of input. Every allocation comes before the
  -- queue changes: one that fails leaves the queue whole.
  local function take(max)
    local input, parts, n, head, rest = st.input, {}, 0, st.head, nil
    while head <= st.last and n < max do
      local c = input[head]
      if n + #c > max then
        parts[#parts + 1], rest = c:sub(1, max - n), c:sub(max - n + 1)
        n = max
      else
        parts[#parts + 1] = c
        n = n + #c
        head = head + 1
      end
    end
    local data = table.concat(parts)
    for i = st.head, head - 1 do input[i] = nil end
    st.head = head
    if rest then input[head] = rest end
    if st.head > st.last then st.head, st.last = 1, 0 end
    st.input_n = st.input_n - n
    return data
  end

  local function keys(s)
    if s:find("\3", 1, true) and not st.reader and not st.edit and st.note_to then
      s = s:gsub("\3", "")
      stats.intr = stats.intr + 1
      if st.intr_direct then
        l4.thread.interrupt(st.note_to, ("interrupted@%d"):format(l4.clock()))
      else
        st.note_at = l4.clock()
      end
    end
    if #s == 0 then return end
    stats.bin = stats.bin + #s
    if st.input_n + #s > max_input then
      stats.dropped = stats.dropped + #s
      return
    end
    st.input[st.last + 1] = s          -- (the slot first: it may fail)
    st.last = st.last + 1
    st.input_n = st.input_n + #s
    if st.reader then
      local r = st.reader
      local data = take(st.reader_max)
      st.reader = nil
      if not l4.reply(r, proto.OK, data) then    -- gone: keep the keys for the next reader
        if st.last == 0 then st.last = 1 else st.head = st.head - 1 end   -- (head may go below 1)
        st.input[st.head] = data
        st.input_n = st.input_n + #data
      end
    end
  end

  -- The last TAIL_MAX bytes shown, kept for TAIL: pieces, joined and cut
  -- back to TAIL_MAX when they hold twice that or number 256 (a write
  -- costs no copy, many small ones no more than a few KiB of pieces).
  local function tail()
    local t = table.concat(st.tail):sub(-proto.TAIL_MAX)
    st.tail, st.tail_n = {t}, #t
    return t
  end
  local function keep(s)
    st.tail[#st.tail + 1] = s
    st.tail_n = st.tail_n + #s
    if st.tail_n > 2 * proto.TAIL_MAX or #st.tail > 256 then tail() end
  end

  -- (what is shown is made first, then kept, then shown: a write whose
  -- allocation fails shows nothing)
  local function write(s)
    local shown = s:gsub("\r?\n", "\r\n")
    if st.edit then
      shown = "\r\27[K" .. shown .. (shown:sub(-1) == "\n" and "" or "\r\n")
              .. redraw(st.edit, st.edit_col, width)
    end
    keep(s)
    out(shown)
  end

  st.history = st.history or {}        -- a state from before the history
  if not st.last then                  -- and one from before the queue's explicit end
    local last = st.head - 1
    for k in pairs(st.input) do if math.type(k) == "integer" and k > last then last = k end end
    st.last = last
  end
  st.tail, st.tail_n = st.tail or {}, st.tail_n or 0   -- and one from before the tail
  if st.early and #st.early > 0 then   -- typed before the server ran: input
    local e = st.early
    st.early = nil
    keys(e)
  end

  -- The pending NOTE (keys() sets st.note_at), tried: -> the receive
  -- options of the next wait (nil: it went, or was dropped).
  local function note()
    local at = st.note_at
    if st.note_to and l4.clock() - at < NOTE_KEEP
       and not l4.send(st.note_to, NOTE_NOW, proto.NOTE, at) then
      return NOTE_RETRY
    end
    st.note_at = nil
    return nil
  end

  -- Replies to rto (if any) with ..., then waits for the next message;
  -- while a NOTE is pending, NOTE_RETRY at most, having tried it again.
  local function answer(rto, ...)
    if st.note_at then
      if rto then l4.reply(rto, ...) end
      return l4.receive(nil, note())
    end
    if rto then return l4.reply_wait(rto, ...) end
    return l4.receive()
  end

  -- One request of a client, an interrupt or a pump's input -> the
  -- reply (to, label, value; to nil: none now). Run under pcall: an
  -- allocation that fails in it is that request's error, not the
  -- server's end (lua.memerr_console_server).
  local function request(from, label, a, b)
    if label == "irq" then
      keys(backend:on_irq())
    elseif label == proto.WRITE then
      write(a or "")
      return from, proto.OK, #(a or "")
    elseif label == proto.READ then
      if st.reader and st.reader ~= from then
        l4.reply(st.reader, proto.TAKEN) -- taken over (fails at once if it is gone)
        st.reader = nil
      end
      local max = math.max(1, math.min(a or proto.READ_MAX, proto.READ_MAX))
      if st.input_n > 0 then return from, proto.OK, take(max) end
      st.reader, st.reader_max = from, max
    elseif label == proto.HIST_ADD then
      local line = a and a:gsub("\n", " ") or ""
      local h = st.history
      if line:find("%S") and h[#h] ~= line then h[#h + 1] = line; trim_history(h) end
      return from, proto.OK
    elseif label == proto.HIST_GET then
      return from, proto.OK, table.concat(st.history, "\n")
    elseif label == proto.HIST_SET then
      local h = {}
      for l in (a or ""):gmatch("[^\n]+") do h[#h + 1] = l end
      trim_history(h)
      st.history = h
      return from, proto.OK
    elseif label == proto.EDIT then
      st.edit, st.edit_col = b or "", math.max(0, math.min(a or 0, #(b or "")))
      out(redraw(st.edit, st.edit_col, width))
      return from, proto.OK
    elseif label == proto.DONE then
      if st.edit then out("\r\n") keep(st.edit .. "\n") end
      st.edit = nil
      return from, proto.OK
    elseif label == proto.TAIL then
      local n = math.max(0, math.min(a or proto.TAIL_MAX, proto.TAIL_MAX))
      return from, proto.OK, n > 0 and tail():sub(-n) or ""
    elseif label == proto.INTR then
      st.note_to = (a and a ~= 0) and l4.id(a) or nil
      -- interrupting it ourselves: only a thread of our own task
      st.intr_direct = b == 1 and st.note_to ~= nil and st.note_to.task == l4.self().task
      return from, proto.OK
    elseif label == proto.INPUT and not st.irq then
      if from.task ~= l4.self().task then return from, proto.UNKNOWN end -- our own pump only
      keys(a or "")
      return from, proto.OK
    elseif label == svc.FAULT and b == "register" then
      -- a wrong value written into the backend's registers now
      -- (docs/reliability.md "Wrong values in device registers")
      if not backend.wrong_register then return from, REJECTED, "fault: no registers here" end
      local what, why = fault.register(from, a, b, backend.REGISTER)
      if not what then return from, REJECTED, why end
      backend:wrong_register(what)
      return from, OK
    elseif label == svc.FAULT then
      st.fault = st.fault or fault.new{raise = true, memcap = true, exit = true,
                                       drop = true, corrupt = true, double = true}
      return from, st.fault:arm(from, a, b)
    else
      return from, proto.UNKNOWN
    end
  end

  local from, label, a, b = answer(nil)
  while true do
    debug.sethook(over_budget, "", M.BUDGET)
    local rto, rlabel, ra           -- the reply to send with the next receive
    if not from then
      -- a reply failed (the client gave up): nothing to do
    elseif label == proto.INFO then
      -- the guardian's ping: a backend that is watched looks at its
      -- registers; one set up again is read and pumped at once (what it
      -- could not tell while it was wrong: typed bytes, room to send).
      -- w0 = 1: the counts only, no look (make faultinject's, to see when
      -- the guardian's look or a use found a wrong value)
      if a ~= 1 and backend.watch and backend:watch() then
        local ok, why = pcall(request, nil, "irq")
        if not ok and why ~= NOMEM then error(why, 0) end
      end
      from, label, a, b = answer(from, proto.OK, stats.bin, stats.bout, stats.intr, stats.dropped,
                                 backend.set_ups or 0)
      goto continue
    elseif label == PING then
      from, label, a, b = answer(from, svc.ping(st.name, st.version))
      goto continue
    elseif label == INFO then
      from, label, a, b = answer(from, svc.info{
        requests = st.requests, errors = st.errors or 0, generation = st.generation,
        reloads = st.reloads, name = st.name, version = st.version, last_error = st.last_error})
      goto continue
    elseif label == RELOAD then
      if from.task ~= l4.kip.root.task then
        rto, rlabel, ra = from, REJECTED, "reload: only threads of the root task may reload"
      else
        local _, why = reload(st, from, a, b)   -- returns only if refused
        st.last_error = why
        rto, rlabel, ra = from, REJECTED, why
      end
    elseif label == proto.HANGUP and not st.irq and from.task == l4.self().task then
      l4.reply(from, proto.OK)
      if st.reader then l4.reply(st.reader, proto.TAKEN) end
      return "hangup"                            -- the server's thread ends
    else
      local met = st.fault and st.fault.armed and MEETS[label] and st.fault:enter()
      local ok
      ok, rto, rlabel, ra = pcall(request, from, label, a, b)
      if not ok then
        -- only the memory's failure is the request's: any other error
        -- (its budget, an injected raise, a bug) ends the server, which
        -- the console guardian starts again
        if rto ~= NOMEM then error(rto, 0) end
        st.errors, st.last_error = (st.errors or 0) + 1, NOMEM
        rto, rlabel, ra = label ~= "irq" and from or nil, proto.ERROR, "console server: " .. NOMEM
      end
      if met then rto, rlabel, ra = st.fault:leave(met, rto, rlabel, ra) end
    end
    if rto then st.requests = st.requests + 1 end
    if ra ~= nil then
      from, label, a, b = answer(rto, rlabel, ra)
    else
      from, label, a, b = answer(rto, rlabel)
    end
    ::continue::
  end
end

return M
