/* Process entry for the host Lua smoke test (a static Linux executable with
 * newlib instead of glibc, so nobody else provides _start).
 * Linux enters with rsp -> argc, argv[0..argc-1], NULL, envp...; newlib needs
 * no initialisation of its own, so main() can be called straight away. */
	.text
	.globl	_start
	.type	_start, @function
_start:
	xor	%ebp, %ebp		/* outermost frame: ends backtraces */
	mov	(%rsp), %rdi		/* argc */
	lea	8(%rsp), %rsi		/* argv */
	and	$-16, %rsp		/* the SysV ABI wants rsp%16 == 0 at a call */
	call	main
	mov	%eax, %edi
	call	exit			/* newlib's: runs atexit, flushes stdio */
	hlt				/* exit does not return */
	.size	_start, . - _start

	.section .note.GNU-stack, "", @progbits
