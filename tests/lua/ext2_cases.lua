-- The ext2 module's cases (bindings/ext2.c, docs/storage.md), run in the
-- guest by tests/lua/init.lua (on newlib over L4) and on the host by
-- tests/host/lua/ext2.lua (the same library in the host build of our
-- Lua, which then has e2fsck check every image a case leaves).
--
--   local cases = require("ext2_cases")(images, opts)
--   images: {ext2 = bytes, ext4 = bytes}, made by the host's mke2fs with
--     hello.txt and sub/deep.txt in them (Makefile: build/tests/ext2/)
--   opts.damaged: how many damaged images to try (default 100)
--   opts.keep(name, device): called with each device a case leaves
-- Each case is {name, function}; a failure raises.
local ext2 = require "ext2"
local ramdisk = require "ramdisk"

return function(images, opts)
  opts = opts or {}
  local keep = opts.keep or function() end
  local cases = {}
  local function case(name, fn) cases[#cases + 1] = {name, fn} end

  local function fails(code, ok, msg, got)
    assert(ok == nil, "expected a failure, got " .. tostring(ok))
    assert(type(msg) == "string" and #msg > 0, "no message")
    assert(got == code, ("expected code %s, got %s (%s)"):format(code, tostring(got), msg))
    return msg
  end

  -- Deterministic bytes: n of them, from seed.
  local function bytes(n, seed)
    local t, x = {}, seed
    for i = 1, n do
      x = (x * 1103515245 + 12345) & 0x7fffffff
      t[i] = string.char((x >> 16) & 0xff)
    end
    return table.concat(t)
  end

  for kind, image in pairs(images) do
    local function fresh() return ramdisk.new(image) end

    case("ext2_" .. kind .. "_reads_the_hosts_files", function()
      local d = fresh()
      local fs = assert(ext2.open(d))
      local names = assert(fs:list(""))
      assert(table.concat(names, " ") == "hello.txt lost+found/ sub/", table.concat(names, " "))
      assert(fs:read("hello.txt") == "hello from the host\n")
      assert(fs:read("/sub//deep.txt") == "deep\n")
      assert(fs:read("hello.txt", 6, 4) == "from")
      assert(fs:read("hello.txt", 100) == "")
      local st = fs:stat("sub/deep.txt")
      assert(st.size == 5 and st.kind == "file" and st.links == 1, st.kind)
      assert(fs:stat("sub").kind == "folder" and fs:stat("").kind == "folder")
      assert(fs:info().was_clean and fs:info().label == "small-" .. kind)
      fs:close()
      assert(d.writes == 0 and d.flushes == 1)    -- nothing changed; close syncs
    end)

    case("ext2_" .. kind .. "_write_replace_remove_gives_every_block_back", function()
      local d = fresh()
      local fs = assert(ext2.open(d))
      local before = fs:info()
      -- 300 KiB: past the direct and single-indirect blocks of 1 KiB
      local big, small = bytes(300 * 1024 + 7, 1), bytes(1000, 2)
      assert(fs:write("big.bin", big))
      assert(fs:read("big.bin") == big)
      assert(fs:read("big.bin", 4096 * 30 + 3, 5000) == big:sub(4096 * 30 + 4, 4096 * 30 + 3 + 5000))
      assert(fs:info().free_blocks < before.free_blocks - 300)
      assert(fs:write("big.bin", small))
      assert(fs:read("big.bin") == small and fs:stat("big.bin").size == 1000)
      assert(fs:write("empty", ""))
      assert(fs:read("empty") == "" and fs:stat("empty").size == 0)
      assert(fs:close())
      -- after a close, a new open of the same disk sees it all
      fs = assert(ext2.open(d))
      assert(fs:read("big.bin") == small and fs:read("hello.txt") == "hello from the host\n")
      assert(fs:remove("big.bin") and fs:remove("empty"))
      local after = fs:info()
      assert(after.free_blocks == before.free_blocks,
             ("free blocks %d before, %d after"):format(before.free_blocks, after.free_blocks))
      assert(after.free_inodes == before.free_inodes)
      fs:close()
      keep("write_replace_remove_" .. kind, d)
    end)

    case("ext2_" .. kind .. "_folders_mkdir_rename_remove", function()
      local d = fresh()
      local fs = assert(ext2.open(d))
      local before = fs:info()
      assert(fs:mkdir("a") and fs:mkdir("a/b") and fs:mkdir("c"))
      assert(fs:write("a/b/f.txt", "F"))
      assert(table.concat(fs:list("a"), " ") == "b/")
      assert(table.concat(fs:list("/a/b/"), " ") == "f.txt")
      -- a file to another folder, then over another file
      assert(fs:rename("a/b/f.txt", "c/g.txt"))
      assert(fs:read("c/g.txt") == "F" and not fs:stat("a/b/f.txt"))
      assert(fs:write("c/h.txt", "H"))
      assert(fs:rename("c/h.txt", "c/g.txt"))
      assert(fs:read("c/g.txt") == "H" and table.concat(fs:list("c"), " ") == "g.txt")
      -- a folder to another parent: its ".." follows, the counts too
      assert(fs:rename("a/b", "c/b2"))
      assert(fs:stat("c/b2/..").kind == "folder")
      assert(fs:write("c/b2/../via-dotdot", "x") and fs:read("c/via-dotdot") == "x")
      assert(fs:stat("c").links == 3 and fs:stat("a").links == 2)
      fails(ext2.EINVAL, fs:rename("c", "c/b2/inside"))
      fails(ext2.EEXIST, fs:rename("a", "c"))
      fails(ext2.ENOTEMPTY, fs:remove("c"))
      -- many names: the folder grows past its first block
      for i = 1, 40 do assert(fs:write(("c/b2/name-%03d-%s"):format(i, ("n"):rep(60)), tostring(i))) end
      assert(#fs:list("c/b2") == 40 and fs:read("c/b2/name-037-" .. ("n"):rep(60)) == "37")
      assert(fs:stat("c/b2").size >= 3 * 1024, "the folder did not grow")
      for i = 1, 40 do assert(fs:remove(("c/b2/name-%03d-%s"):format(i, ("n"):rep(60)))) end
      assert(fs:remove("c/b2") and fs:remove("c/g.txt") and fs:remove("c/via-dotdot"))
      assert(fs:remove("c") and fs:remove("a"))
      assert(table.concat(fs:list(""), " ") == "hello.txt lost+found/ sub/")
      assert(fs:info().free_inodes == before.free_inodes)
      fs:close()
      keep("folders_" .. kind, d)
    end)

    case("ext2_" .. kind .. "_errors_have_codes_and_words", function()
      local d = fresh()
      local fs = assert(ext2.open(d))
      fails(ext2.ENOENT, fs:read("nothing"))
      fails(ext2.ENOENT, fs:write("no/such/folder.txt", "x"))
      fails(ext2.ENOENT, fs:remove("nothing"))
      fails(ext2.ENOENT, fs:list("nothing"))
      fails(ext2.ENOENT, fs:rename("nothing", "x"))
      fails(ext2.ENOTDIR, fs:write("hello.txt/x", "x"))
      fails(ext2.ENOTDIR, fs:list("hello.txt"))
      fails(ext2.EISDIR, fs:read("sub"))
      fails(ext2.EISDIR, fs:write("sub", "x"))
      fails(ext2.EEXIST, fs:mkdir("sub"))
      fails(ext2.EEXIST, fs:mkdir("hello.txt"))
      fails(ext2.EINVAL, fs:write("sub/..", "x"))
      fails(ext2.EINVAL, fs:write("", "x"))
      fails(ext2.EINVAL, fs:mkdir(("n"):rep(256)))
      assert(fs:write(("n"):rep(255), "longest name") and fs:remove(("n"):rep(255)))
      -- misuse raises
      assert(not pcall(fs.read, fs, {}))
      assert(not pcall(fs.write, fs, "x", nil))
      assert(not pcall(fs.read, fs, "a\0b"))
      assert(not pcall(ext2.open, {}))
      fs:close()
      local ok, err = pcall(fs.read, fs, "hello.txt")
      assert(not ok and err:find("closed"), err)
      keep("errors_" .. kind, d)
    end)

    case("ext2_" .. kind .. "_full_disk_gives_ENOSPC_and_goes_on", function()
      local d = fresh()
      local fs = assert(ext2.open(d))
      local before, n, msg = fs:info(), 0, nil
      while true do
        local ok, why, code = fs:write(("fill%d"):format(n), bytes(64 * 1024, n))
        if not ok then
          msg = fails(ext2.ENOSPC, ok, why, code)
          break
        end
        n = n + 1
        assert(n < 100, "the disk never filled")
      end
      assert(n >= 3, "only " .. n .. " files fit")
      assert(not fs:stat(("fill%d"):format(n)), "the failed write left its file")
      for i = 0, n - 1 do assert(fs:read(("fill%d"):format(i)) == bytes(64 * 1024, i)) end
      for i = 0, n - 1 do assert(fs:remove(("fill%d"):format(i))) end
      local after = fs:info()
      assert(after.free_blocks == before.free_blocks and after.free_inodes == before.free_inodes,
             ("%s; free blocks %d before, %d after"):format(msg, before.free_blocks, after.free_blocks))
      assert(fs:write("after.txt", "fits again") and fs:read("after.txt") == "fits again")
      fs:close()
      keep("full_" .. kind, d)
    end)

    case("ext2_" .. kind .. "_read_only_gives_EROFS", function()
      local d = fresh()
      local fs = assert(ext2.open(d, {readonly = true}))
      assert(fs:read("hello.txt") == "hello from the host\n")
      fails(ext2.EROFS, fs:write("x", "x"))
      fails(ext2.EROFS, fs:mkdir("x"))
      fails(ext2.EROFS, fs:remove("hello.txt"))
      assert(fs:info().readonly)
      fs:close()
      assert(d.writes == 0)
      -- a disk that says it is read-only is opened so
      d.readonly = true
      fs = assert(ext2.open(d))
      assert(fs:info().readonly)
      fails(ext2.EROFS, fs:write("x", "x"))
      -- one that refuses writes without saying so: its EROFS comes through
      d = fresh()
      fs = assert(ext2.open(d))
      d.readonly = true
      local msg = fails(ext2.EROFS, fs:write("x", "x"))
      assert(msg:find("read%-only disk"), msg)
    end)

    case("ext2_" .. kind .. "_a_failing_device_gives_EIO_never_an_error", function()
      -- the device fails at every request in turn during an overwrite
      local k, failed = 1, 0
      while true do
        local d = fresh()
        local fs = assert(ext2.open(d))
        d.fail_in = k
        local ok, msg, code = fs:write("hello.txt", bytes(5000, k))
        d.fail_in = nil
        if ok then break end
        failed = failed + 1
        assert(code == ext2.EIO and msg:find("injected"), msg)
        k = k + 1
      end
      assert(failed > 5, "only " .. failed .. " requests")
    end)

    case("ext2_" .. kind .. "_clean_flag_on_the_disk", function()
      local d = fresh()
      local fs = assert(ext2.open(d))
      assert(fs:write("x", "x"))
      local copy = assert(ext2.open(ramdisk.new(d:image()), {readonly = true}))
      assert(not copy:info().was_clean, "a change left the disk marked clean")
      copy:close()
      assert(fs:sync())
      copy = assert(ext2.open(ramdisk.new(d:image()), {readonly = true}))
      assert(copy:info().was_clean, "a sync left the disk marked unclean")
      assert(copy:read("x") == "x")
      copy:close()
      fs:close()
    end)

    case("ext2_" .. kind .. "_a_write_is_whole_or_not_at_all", function()
      -- every prefix of the writes of an overwrite, as a crash would
      -- leave the disk: the file reads old or new, never a mix
      local old, new = bytes(20000, 7), bytes(30000, 8)
      local d = fresh()
      local fs = assert(ext2.open(d))
      assert(fs:write("f", old))
      fs:close()
      local base = d:image()
      d.log = {}
      fs = assert(ext2.open(d))
      assert(fs:write("f", new))
      local log = d.log
      d.log = nil
      fs:close()
      local seen = {old = 0, new = 0}
      local crash = ramdisk.new(base)
      for i = 0, #log do
        if i > 0 then crash:write(log[i][1], log[i][2]) end
        local c = assert(ext2.open(ramdisk.new(crash:image()), {readonly = true}))
        local got = c:read("f")
        c:close()
        assert(got == old or got == new, ("after %d of %d writes: %s bytes, neither"):format(i, #log, #tostring(got)))
        seen[got == old and "old" or "new"] = seen[got == old and "old" or "new"] + 1
      end
      assert(seen.old > 0 and seen.new > 0)
    end)

    case("ext2_" .. kind .. "_damaged_images_give_errors", function()
      -- random bytes over the metadata (superblock, group descriptors,
      -- bitmaps, inode table, first folders: the first 48 KiB); each
      -- image is opened, walked, read and written: every failure must
      -- be nil, message, code, never a raised error or a crash
      local n = opts.damaged or 100
      local opened, refused, errors = 0, 0, 0
      local x = 12345
      local function rnd(m)
        x = (x * 1103515245 + 12345) & 0x7fffffff
        return (x >> 8) % m
      end
      local function walk(fs, path, depth)
        local names = fs:list(path)
        if not names or depth > 4 then errors = errors + 1 return end
        for i = 1, math.min(#names, 20) do
          local name = names[i]
          local p = path == "" and name or path .. "/" .. name
          if name:sub(-1) == "/" then walk(fs, p:sub(1, -2), depth + 1)
          elseif not fs:read(p, 0, 65536) then errors = errors + 1 end
        end
      end
      for v = 1, n do
        local t = {}
        for i = 1, #image // 1024 do t[i] = image:sub((i - 1) * 1024 + 1, i * 1024) end
        for _ = 1, 1 + rnd(8) do
          local blk = 1 + rnd(48)
          local b, at, len = t[blk], rnd(1024), 1 + rnd(16)
          local junk = {}
          for j = 1, len do junk[j] = string.char(rnd(256)) end
          t[blk] = (b:sub(1, at) .. table.concat(junk) .. b:sub(at + len + 1)):sub(1, 1024)
        end
        local d = ramdisk.new(table.concat(t))
        local ok, err = pcall(function()
          local fs, why, code = ext2.open(d)
          if not fs then
            assert(type(why) == "string" and math.type(code) == "integer", "open: no message or code")
            refused = refused + 1
            return
          end
          opened = opened + 1
          walk(fs, "", 0)
          for _, r in ipairs{{fs:write("sub/new.txt", "new")}, {fs:mkdir("made")},
                             {fs:rename("hello.txt", "sub/moved")}, {fs:remove("made")}} do
            if not r[1] then
              assert(type(r[2]) == "string" and math.type(r[3]) == "integer", "no message or code")
              errors = errors + 1
            end
          end
          fs:close()
        end)
        assert(ok, ("variant %d raised: %s"):format(v, tostring(err)))
      end
      assert(opened + refused == n)
      print(("ext2_%s_damaged: %d images: %d refused at open, %d opened (%d operations failed)")
            :format(kind, n, refused, opened, errors))
    end)
  end
  return cases
end
