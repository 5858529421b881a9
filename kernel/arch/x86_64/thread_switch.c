/* Thread context on x86_64: kernel stacks, FPU state, the switch. */
#include "arch.h"
#include "asm_offsets.h"            /* (for its _Static_asserts) */
#include "cpu.h"
#include "fastswitch.h"
#include "gdt.h"
#include "layout.h"
#include "paging.h"
#include "pic.h"
#include "trap.h"
#include "../../assert.h"
#include "../../io.h"
#include "../../space.h"
#include "../../string.h"
#include "../../thread.h"


extern char syscall_entry[], thread_first_entry[];
void arch_switch_stacks(uint64_t *save_ksp, uint64_t ksp);

void arch_syscall_init(void)
{
    /* Per-CPU data at %gs in the kernel (one CPU for now): the TSS's
     * rsp[0], the kernel stack top (entry.S: %gs:0), and rsp[1], which the
     * CPU never reads as no code runs in ring 1 (%gs:8: the user rsp
     * during syscall_entry). */
    wrmsr(MSR_GSBASE, (uint64_t)&gdt_tss.tss.rsp[0]);
    wrmsr(MSR_KGSBASE, 0);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);               /* SCE */
    wrmsr(MSR_STAR, (uint64_t)SEL_KCODE << 32 | (uint64_t)0x18 << 48);
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    /* IF DF TF AC off in the kernel; NT too, or the iretq back to user mode
     * would #GP on a flag any user can set with popf. */
    wrmsr(MSR_FMASK, 0x200 | 0x400 | 0x100 | 0x40000 | 0x4000);
}

void arch_fpu_init_state(uint8_t *a)
{
    memset(a, 0, 512);
    a[0] = 0x7f;                    /* FCW 0x037f: all x87 exceptions masked */
    a[1] = 0x03;
    uint32_t mxcsr = 0x1f80;        /* all SSE exceptions masked */
    memcpy(a + 24, &mxcsr, 4);
}

void arch_thread_setup(struct thread *t, uint64_t ip, uint64_t sp)
{
    struct trap_frame *f = t->frame;
    memset(f, 0, sizeof *f);
    f->rip = ip;
    f->rsp = sp;
    f->cs = SEL_UCODE;
    f->ss = SEL_UDATA;
    f->rflags = 0x202;              /* IF */
    /* First switch: pop six callee-saved registers, return to
     * thread_first_entry with rsp at the frame. */
    uint64_t *k = (uint64_t *)f;
    *--k = (uint64_t)thread_first_entry;
    for (int i = 0; i < 6; i++)
        *--k = 0;
    t->ksp = (uint64_t)k;
}

void arch_switch(struct thread *prev, struct thread *next)
{
    kassert(next->canary == THREAD_CANARY || next->id == 0);
    __asm__ volatile("fxsave64 (%0)" ::"r"(prev->fpu) : "memory");
    __asm__ volatile("fxrstor64 (%0)" ::"r"(next->fpu) : "memory");
    if (next->space) {              /* user thread (not idle, which keeps CR3) */
        gdt_set_kernel_stack((uint64_t)next->frame + sizeof(struct trap_frame));
        if ((READ_CR(3) & PTE_ADDR) != next->space->pml4)
            arch_load_space(next->space);
    }
    arch_switch_stacks(&prev->ksp, next->ksp);
}

void arch_fast_io_exit(struct thread *prev, struct trap_frame *pf, struct thread *next,
                       uint64_t result, uint64_t tag)
{
    struct space *s = next->space;
    gdt_load_io_bitmap(phys_to_virt(s->io_bitmap), s->io_extent);
    if (next->ipc_kernel)
        arch_resume(next->ksp);
    arch_fast_exit(prev->id, tag, result, pf, next->frame);
}

void arch_io_bitmap_changed(const uint8_t *bitmap, bool gone)
{
    unsigned extent = 0;
    bool mine = !gone && current->space && io_bitmap(current->space, &extent) == bitmap;
    gdt_io_bitmap_changed(bitmap, extent, mine);
}

void arch_irq_mask(unsigned irq)
{
    pic_mask(irq);
}

void arch_irq_unmask(unsigned irq)
{
    pic_unmask(irq);
}
