/* The L4ua binary interface: numbers and encodings shared by the kernel
 * and user code. docs/abi.md explains each; section names are given here.
 * Plain C, no dependencies: included by kernel/ and by user programs. */
#ifndef L4UA_ABI_H
#define L4UA_ABI_H

#include <stdint.h>

/* ---- System call numbers (abi.md "System calls"), in rax ---- */
#define L4_SYS_IPC              0
#define L4_SYS_ID_NEAREST       1
#define L4_SYS_FPAGE_UNMAP      2
#define L4_SYS_THREAD_SWITCH    3
#define L4_SYS_THREAD_SCHEDULE  4
#define L4_SYS_LTHREAD_EX_REGS  5
#define L4_EXREGS_DELETE        0x44454c4554452121ull  /* lthread_ex_regs' r9: delete it */
#define L4_EXREGS_RESTART       0x5245535441525421ull  /* r9: its callers' waits end too */
#define L4_SYS_TASK_NEW         6
#define L4_SYS_KDEBUG           7     /* debug output; not an L4 call */

/* ---- Thread ids (abi.md "Thread ids") ----
 * bits  0..15 version, 16..23 lthread, 24..35 task; the rest zero.
 * nil = 0, invalid = all ones. IRQ n is the id n + 1 (task 0). */
#define L4_NILTHREAD      0ull
#define L4_INVALID        (~0ull)
#define L4_ID_VERSION(id) ((unsigned)((id) & 0xffff))
#define L4_ID_LTHREAD(id) ((unsigned)(((id) >> 16) & 0xff))
#define L4_ID_TASK(id)    ((unsigned)(((id) >> 24) & 0xfff))
#define L4_ID(task, lthread, version) \
    (((uint64_t)(task) << 24) | ((uint64_t)(lthread) << 16) | (uint64_t)(version))
#define L4_MAX_TASKS      4096
#define L4_MAX_LTHREADS   256
#define L4_NUM_IRQS       16
#define L4_IRQ_ID(n)      ((uint64_t)(n) + 1)
#define L4_IRQ_OF(id)     ((unsigned)((id) - 1))   /* the line of an IRQ id */
#define L4_IS_IRQ_ID(id)  ((id) >= L4_IRQ_ID(0) && (id) < L4_IRQ_ID(L4_NUM_IRQS))

/* ---- IPC (abi.md "ipc") ----
 * Send descriptor (rsi): L4_NODESC for no send phase, else a message tag:
 *   bits 0..6 untyped words u (0..64), 7..12 typed items t, 13 deceiving,
 *   32..63 label. Words 0..5 travel in registers, the rest in the UTCB;
 *   the t typed items (two words each) follow the u untyped words. */
#define L4_NODESC           (~0ull)
#define L4_TAG(label, u, t) (((uint64_t)(label) << 32) | ((uint64_t)(t) << 7) | (uint64_t)(u))
#define L4_TAG_U(tag)       ((unsigned)((tag) & 0x7f))
#define L4_TAG_T(tag)       ((unsigned)(((tag) >> 7) & 0x3f))
#define L4_TAG_LABEL(tag)   ((uint32_t)((tag) >> 32))
#define L4_TAG_DECEIVE      (1ull << 13)
#define L4_MSG_WORDS        64        /* message words a thread can hold */
#define L4_REG_WORDS        6         /* of which travel in registers */

/* Receive descriptor (rdx): L4_NODESC for no receive phase, else
 *   bit 0 open (from anyone; else from the thread in rdi),
 *   bit 1 accept mappings into the window in utcb->rcv_window,
 *   bit 2 accept strings into utcb->rcv_strings,
 *   bit 3 detach from the IRQ in rdi (see abi.md "Interrupts"),
 *   bits 8..14 most words (untyped + typed) accepted; 0 = 64. */
#define L4_RCV_OPEN         1ull
#define L4_RCV_MAPS         2ull
#define L4_RCV_STRINGS      4ull
#define L4_RCV_DETACH       8ull     /* with rdi = an IRQ id: detach from it */
#define L4_RCV_WORDS(n)     ((uint64_t)(n) << 8)   /* 0 = no limit (64) */
#define L4_RCV_MAXWORDS(d)  ((unsigned)(((d) >> 8) & 0x7f))

/* Timeouts (r10): four 16-bit fields, send (bits 0..15), receive (16..31),
 * send page fault (32..47), receive page fault (48..63). A field is
 * m (bits 0..9) and e (bits 10..15): 0 = never (infinite); m = 0 and
 * e != 0 = zero (don't wait); otherwise m * 2^e microseconds. */
#define L4_TO_NEVER         0u
#define L4_TO_ZERO          (1u << 10)
#define L4_TO(m, e)         ((uint16_t)(((e) << 10) | (m)))
#define L4_TIMEOUTS(snd, rcv, spf, rpf) \
    ((uint64_t)(snd) | ((uint64_t)(rcv) << 16) | ((uint64_t)(spf) << 32) | ((uint64_t)(rpf) << 48))

/* Kernel-made messages (abi.md "Page faults", "Exceptions", "Interrupts"):
 * the kernel sends them with these labels, no typed items.
 *   page fault: 2 words, the fault word and the faulting ip; the pager
 *     answers with a map item (or nothing, and the thread waits);
 *   exception: 4 words, vector, error code, ip, address (CR2 for #PF);
 *     the handler answers with {ip, sp} to resume at, or nothing;
 *   interrupt: 0 words, from L4_IRQ_ID(n). */
#define L4_LABEL_PAGEFAULT  0xfffffffeu
#define L4_LABEL_EXCEPTION  0xfffffffdu
#define L4_LABEL_IRQ        0xffffffffu
/* The fault word: the faulting address with bits 0..2 reused, bit 1 set
 * for a write, bit 0 for an instruction fetch (else a read). */
#define L4_FAULT_WRITE      2ull
#define L4_FAULT_EXEC       1ull
#define L4_FAULT_WORD(addr, write, exec) \
    (((uint64_t)(addr) & ~7ull) | ((write) ? L4_FAULT_WRITE : 0) | ((exec) ? L4_FAULT_EXEC : 0))
#define L4_FAULT_ADDR(w0)   ((uint64_t)(w0) & ~7ull)
#define L4_FAULT_IS_WRITE(w0) (((w0) & L4_FAULT_WRITE) != 0)
#define L4_FAULT_IS_EXEC(w0)  (((w0) & L4_FAULT_EXEC) != 0)

/* Result (rax after ipc): an error code in bits 0..7, flags above. */
#define L4_IPC_OK              0
#define L4_IPC_NOPARTNER       1    /* destination does not exist */
#define L4_IPC_SND_TIMEOUT     2
#define L4_IPC_RCV_TIMEOUT     3
#define L4_IPC_SND_CANCELLED   4    /* this thread was ex_regs'd while sending */
#define L4_IPC_RCV_CANCELLED   5
#define L4_IPC_SND_CUT         6    /* receiver's buffers too small */
#define L4_IPC_RCV_CUT         7    /* message did not fit my buffers */
#define L4_IPC_SND_PF_TIMEOUT  8
#define L4_IPC_RCV_PF_TIMEOUT  9
#define L4_IPC_SND_ABORTED     10   /* partner deleted while I waited */
#define L4_IPC_RCV_ABORTED     11
#define L4_IPC_MAP_FAILED      12
#define L4_IPC_INVAL           13   /* malformed descriptor or tag */
#define L4_IPC_ERR(r)          ((unsigned)((r) & 0xff))
#define L4_IPC_DECEIVED        (1ull << 8)   /* sender id is a chief's claim */
#define L4_IPC_REDIRECTED      (1ull << 9)   /* went to a chief, not the dest */
#define L4_IPC_FROM_INNER      (1ull << 10)  /* came up out of my subclan */

/* Result codes of the other calls (rax). */
#define L4_OK          0
#define L4_EINVAL      20   /* bad argument */
#define L4_ENOTHREAD   21   /* no such thread or task */
#define L4_EPERM       22   /* not allowed to the caller */
#define L4_ENOMEM      23   /* kernel memory exhausted */
#define L4_EBUSY       24   /* e.g. IRQ already attached */

/* ---- The UTCB (abi.md "UTCB"): one page per thread, kernel-mapped at
 * L4_UTCB_BASE + lthread * 4096 in its task. */
#define L4_UTCB_BASE   0x00007fff00000000ull
#define L4_KIP_BASE    0x00007ffeff000000ull
/* User memory a task can map, fault in, name in an fpage or a string
 * item: [0, L4_USER_LIMIT), below the KIP and the UTCBs. */
#define L4_USER_LIMIT  0x00007ffe00000000ull
struct l4_utcb {
    uint64_t mr[L4_MSG_WORDS];      /* message words; mr[0..5] live in registers */
    uint64_t rcv_window;            /* fpage where received mappings land */
    uint64_t rcv_strings[8][2];     /* {address, size} of receive buffers */
    uint64_t virtual_sender;        /* deceiving send: the id to claim */
    uint64_t intended_receiver;     /* on receive: the id the sender named */
    uint64_t myself;                /* this thread's id (set by the kernel) */
    uint64_t user[7];               /* free for user code (e.g. TLS) */
};

/* Flexpages (abi.md "Flexpages"): base (bits 12..63, aligned to the size),
 * log2 size s (bits 4..9, 12..47), rights (bit 2 read, 1 write, 0 execute).
 * A map item is two typed words {send base | L4_ITEM_MAP, fpage}. */
#define L4_FPAGE(base, s, rights) (((uint64_t)(base) & ~0xfffull) | ((uint64_t)(s) << 4) | (rights))
#define L4_FPAGE_BASE(f)  ((f) & ~0xfffull)
#define L4_FPAGE_SIZE(f)  ((unsigned)(((f) >> 4) & 0x3f))
#define L4_FPAGE_RIGHTS(f) ((unsigned)((f) & 7))
#define L4_R 4u
#define L4_W 2u
#define L4_X 1u
#define L4_RWX 7u
/* An I/O-port fpage: port (bits 12..27), log2 number of ports (bits 4..9,
 * 0..16), bit 3 set. Mapped 1:1 (port n stays port n) by a map item to a
 * receiver that accepts mappings. */
#define L4_FPAGE_IO 8ull
/* The ports the kernel keeps and never hands out: the PICs (and their
 * ELCR) and the PIT, as {first, last} pairs for an initialiser. */
#define L4_KERNEL_PORTS { { 0x20, 0x21 }, { 0xa0, 0xa1 }, { 0x40, 0x43 }, { 0x4d0, 0x4d1 } }
#define L4_KERNEL_PORTS_N 4
#define L4_IOFPAGE(port, s) (((uint64_t)(port) << 12) | ((uint64_t)(s) << 4) | L4_FPAGE_IO)
#define L4_IOFPAGE_PORT(f) ((unsigned)(((f) >> 12) & 0xffff))
#define L4_ITEM_STRING 0x4ull   /* {length << 4 | L4_ITEM_STRING, address} */
#define L4_STRING_MAX (4ull << 20)
#define L4_ITEM_MAP   0x8ull
#define L4_ITEM_GRANT 0xaull
#define L4_WHOLE_SPACE 47          /* log2 of the user half */

/* fpage_unmap flags (rsi) */
#define L4_UNMAP_FLUSH 1ull     /* remove; else reduce to read-only */
#define L4_UNMAP_OWN   2ull     /* the caller's own mapping too */

/* The tasks the kernel starts from boot modules. */
#define L4_SIGMA0_TASK 1
#define L4_ROOT_TASK   2

/* ---- sigma0's protocol (memory.md "sigma0") ----
 * A request is a call to sigma0 (KIP field sigma0) with one of these
 * labels; the client receives with L4_RCV_MAPS into utcb->rcv_window.
 * The reply has label 0 and word 0 a code (L4_SIGMA0_OK or an error);
 * on success one map item follows: {base | L4_ITEM_MAP, fpage of the
 * memory}, whose base is its physical address. */
#define L4_SIGMA0_ANY      1    /* w0 log2 size (12..L4_SIGMA0_ANY_MAX): a free
                                   RAM block, naturally aligned, zeroed */
#define L4_SIGMA0_PHYS     2    /* w0 physical base, w1 log2 size
                                   (12..L4_SIGMA0_PHYS_MAX): RAM if free, or
                                   device memory */
#define L4_SIGMA0_IOPORTS  3    /* w0 first port, w1 log2 count (0..16, port
                                   aligned): each port once; PICs/PIT refused */
#define L4_SIGMA0_FREE     4    /* no words -> w0 L4_SIGMA0_OK, w1 frames of RAM
                                   sigma0 has not handed out (no item) */
#define L4_SIGMA0_GIVE_BACK 5   /* w0 physical base, w1 log2 size (12..
                                   L4_SIGMA0_ANY_MAX): RAM handed out, back
                                   from the root task (only): every mapping of
                                   it is flushed and it is free again; reply
                                   w0 only */
#define L4_SIGMA0_ANY_RAW  6    /* w0 log2 size: as L4_SIGMA0_ANY, not zeroed;
                                   the root task only (its stacks, and its pool,
                                   which zeroes each page it hands on) */
#define L4_SIGMA0_ANY_MAX  22
#define L4_SIGMA0_PHYS_MAX 30
#define L4_SIGMA0_OK       0
#define L4_SIGMA0_EINVAL   1    /* malformed: unknown label, word count, size, alignment */
#define L4_SIGMA0_EKERNEL  2    /* the range holds memory the kernel keeps */
#define L4_SIGMA0_ETAKEN   3    /* RAM in the range was handed out before */
#define L4_SIGMA0_ENOMEM   4    /* no free RAM block of that size is left */
#define L4_SIGMA0_EMIXED   5    /* the range mixes RAM and device memory */
#define L4_SIGMA0_ENOTSUP  6    /* not supported (no request uses it now) */
#define L4_SIGMA0_ENOMAP   7    /* the kernel could not map it for sigma0
                                   (its pool is exhausted); try again later */
#define L4_SIGMA0_EPERM    8    /* the root task's request only */
/* sigma0 sees physical memory at the same virtual address, so its own
 * image and stack live above this, and it can name physical addresses
 * only below it (KIP phys_end). */
#define L4_SIGMA0_BASE 0x00007f0000000000ull

/* The debug call (L4_SYS_KDEBUG, rdi = op) */
#define L4_KDEBUG_PUTC 0        /* rsi: a byte for the kernel console */
#define L4_KDEBUG_EXIT 1        /* root task only: end QEMU, rsi 0 = pass */
#define L4_KDEBUG_KMEM 2        /* out: rsi kernel pool frames used, rdx limit */
#define L4_KDEBUG_RAISE_IRQ 3   /* root task only: act as if IRQ rsi fired */
#define L4_KDEBUG_RTC_IRQ 4     /* root task only: rsi 1 = let the CMOS RTC raise
                                   IRQ 8 (once, until turned off), 0 = off */
#define L4_KDEBUG_MDB_CHECK 5   /* any task: L4_OK if the mapping database is
                                   consistent, L4_EINVAL if not */
/* Introspection for the system's shell; root task only (L4_EPERM else). */
#define L4_KDEBUG_THREAD_INFO 6 /* rsi: 0, or the last id returned; out: rsi
                                   the next thread (by task, lthread; 0 = no
                                   more), rdx state (L4_TS_*) | prio << 8,
                                   r10 CPU time in us, r8 the partner it
                                   waits for (nilthread if none), r9 its pager */
#define L4_KDEBUG_IRQ_INFO 7    /* rsi: line; out: rsi owner (nilthread if
                                   none), rdx interrupts raised so far */
#define L4_KDEBUG_CONSOLE 8     /* rsi 1: the UART driver owns COM1, the
                                   kernel log goes to its ring only; 0: back
                                   to COM1 (a panic always writes COM1) */
#define L4_KDEBUG_KLOG 9        /* rsi: position (bytes since boot); out: rdi
                                   bytes read (0-32), rsi the next position,
                                   rdx r10 r8 r9 the bytes (little-endian) */
#define L4_KDEBUG_CHECK 10      /* any task: the kernel's self-check; L4_OK if
                                   ready queues, send queues, timeouts and
                                   thread tables agree and the kernel pool's
                                   used frames equal the frames its objects
                                   hold, else L4_EINVAL; out: rsi frames used,
                                   rdx frames held, r10 what failed (bits:
                                   1 run queues/timeouts, 2 send queues,
                                   4 thread tables, 8 pool accounting) */
#define L4_KDEBUG_IRQ_GRANT 11  /* root task only: rsi line | task << 8; from
                                   then on only threads of that task may attach
                                   the line (task 0: any thread), and one of
                                   another task attached to it is detached;
                                   L4_EINVAL for a line not attachable */
#define L4_KDEBUG_COV 12        /* any task, the coverage kernel of make fuzz
                                   only (L4_EINVAL in others): out: rsi blocks
                                   and edges of kernel code run so far, rdx
                                   those first run for the caller's task */
#define L4_KDEBUG_KMEM_LIMIT 13 /* root task only, test kernel: rsi the kernel
                                   pool's limit in frames, 1 to the boot's
                                   (L4_EINVAL else); out: rsi the old limit */
#define L4_KDEBUG_MAPPING 14    /* test kernel, any task: rsi an address; out:
                                   rsi the caller's own mapping of its page:
                                   rights (L4_R W X) | the page's PAT index
                                   (PWT | PCD << 1 | PAT << 2) << 4;
                                   L4_EINVAL if nothing is mapped there */

/* ---- id_nearest (rax out: kind) ---- */
#define L4_NEAREST_SAME   0   /* same clan: the destination itself */
#define L4_NEAREST_INNER  1   /* inside a subclan: its chief */
#define L4_NEAREST_OUTER  2   /* outside my clan: my chief */

/* ---- thread_schedule ---- states reported */
#define L4_TS_INACTIVE   0
#define L4_TS_READY      1
#define L4_TS_SENDING    2
#define L4_TS_RECEIVING  3
#define L4_TS_STOPPED    4

/* ---- Kernel interface page (abi.md "KIP"), read-only in every task ---- */
#define L4_KIP_MAGIC 0x4c34756121504b49ull    /* "IKP!au4L" little-endian */
#define L4_KIP_MEM_MAX    48
#define L4_KIP_MEM_SIGMA0 1     /* RAM of sigma0's: each frame handed out once */
#define L4_KIP_MEM_KERNEL 2     /* the kernel's (image, pool, boot modules and
                                   the boot tasks' frames): never mapped */
#define L4_KIP_SAFE_MODE  1     /* flags: "safe=1" on the kernel command line:
                                   boot without the user's scripts (recovery.md) */
struct l4_kip {
    uint64_t magic;
    uint32_t version;           /* 0x0001 for this interface */
    uint32_t page_size;
    volatile uint64_t clock_us; /* microseconds since boot */
    uint64_t tick_us;           /* the clock's step */
    uint64_t mem_total;         /* bytes of available RAM */
    uint64_t mem_kernel_pool;   /* bytes reserved for kernel objects */
    uint64_t tsc_per_us;        /* rdtsc ticks per microsecond (calibrated) */
    uint64_t root_task, sigma0; /* their first thread ids */
    /* Physical memory (memory.md "The split"): sigma0 may name physical
     * addresses below phys_end; mem[] lists, sorted and disjoint, the RAM
     * sigma0 owns and what the kernel keeps; anything else below phys_end
     * is device memory. */
    uint64_t phys_end;
    uint64_t mem_sigma0;        /* bytes of RAM sigma0 owns */
    uint32_t nmem;
    uint32_t flags;             /* L4_KIP_SAFE_MODE */
    struct l4_kip_mem {
        uint64_t start, end;    /* [start, end), page-aligned */
        uint64_t type;          /* L4_KIP_MEM_* */
    } mem[L4_KIP_MEM_MAX];
    /* The boot module named "scripts" (an archive of Lua scripts, made by
     * tools/mkarchive.py): copied by the kernel and mapped read-only into
     * the root task at L4_SCRIPTS_BASE; 0, 0 without one. A stopgap until
     * a service hands boot modules out. */
    uint64_t scripts, scripts_size;     /* address in the root task, bytes */
};
#define L4_SCRIPTS_BASE 0x0000000100000000ull   /* 4 GiB */
#define L4_SCRIPTS_MAX  (1ull << 30)            /* larger modules are not mapped */

#endif
