/* x86_64 instructions the kernel uses, as inline functions. */
#pragma once
#include "../../types.h"

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(port)); }
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" ::"c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
#ifdef L4UA_HOST
/* Host unit tests (tests/host/) run kernel code as a user program: the
 * control registers and the TLB are the test's model of them. */
uint64_t host_read_cr(int n);
void host_write_cr(int n, uint64_t v);
void host_invlpg(vaddr_t a);
#define READ_CR(n) host_read_cr(n)
#define WRITE_CR(n, v) host_write_cr(n, (uint64_t)(v))
static inline void invlpg(vaddr_t a) { host_invlpg(a); }
#else
#define READ_CR(n) ({ uint64_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
#define WRITE_CR(n, v) __asm__ volatile("mov %0, %%cr" #n ::"r"((uint64_t)(v)) : "memory")
static inline void invlpg(vaddr_t a) { __asm__ volatile("invlpg (%0)" ::"r"(a) : "memory"); }
#endif
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}

#define MSR_EFER   0xC0000080u
#define MSR_STAR   0xC0000081u
#define MSR_LSTAR  0xC0000082u
#define MSR_FMASK  0xC0000084u
#define MSR_GSBASE 0xC0000101u
#define MSR_KGSBASE 0xC0000102u
