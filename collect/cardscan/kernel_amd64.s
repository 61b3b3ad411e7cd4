//go:build !purego

#include "textflag.h"

// Each byte's classes from two 16-entry tables, one for its low nibble and
// one for its high, ANDed (VPSHUFB looks both up 32 bytes at a time):
//   0x80 digit   0x40 a digit brands begin with (2-6, 9)   0x20 ' ' or '-'
// High nibble 3 is the digits' row, 2 the separators' (' ' 0x20, '-'
// 0x2d); the low nibble picks the digit, or 0 and 0xd. Bytes of 0x80 and
// up have a high nibble of 8 or more: nothing.
DATA lonib<>+0(SB)/8, $0x80c0c0c0c0c080a0
DATA lonib<>+8(SB)/8, $0x000020000000c080
DATA lonib<>+16(SB)/8, $0x80c0c0c0c0c080a0
DATA lonib<>+24(SB)/8, $0x000020000000c080
GLOBL lonib<>(SB), RODATA|NOPTR, $32

DATA hinib<>+0(SB)/8, $0x00000000c0200000
DATA hinib<>+8(SB)/8, $0x0000000000000000
DATA hinib<>+16(SB)/8, $0x00000000c0200000
DATA hinib<>+24(SB)/8, $0x0000000000000000
GLOBL hinib<>(SB), RODATA|NOPTR, $32

DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $32

// CLASS replaces the 32 bytes in in with their classes (tmp clobbered).
#define CLASS(in, tmp) \
	VPSRLW  $4, in, tmp \
	VPAND   Y13, tmp, tmp \
	VPAND   Y13, in, in \
	VPSHUFB tmp, Y15, tmp \
	VPSHUFB in, Y14, in \
	VPAND   tmp, in, in

// MASK64 moves the class at bit 7-shift of each byte of Y0 (bytes 0-31)
// and Y1 (32-63) into the 64 bits of dst (lo clobbered). VPSLLW shifts
// 16-bit words, but a byte's bit 7 comes from its own bit 7-shift.
#define MASK64(shift, dst, lo) \
	VPSLLW    $shift, Y0, Y2 \
	VPSLLW    $shift, Y1, Y3 \
	VPMOVMSKB Y2, lo \
	VPMOVMSKB Y3, dst \
	SHLQ      $32, dst \
	ORQ       lo, dst

// func blocksAVX2(p *byte, n int, out *blockMasks)
// marks the n blocks of 64 bytes at p, out[i] the i-th's: digits, brand
// digits, and digits or separators (masksOf in kernel.go is the same in
// Go). n > 0.
TEXT ·blocksAVX2(SB), NOSPLIT, $0-24
	MOVQ    p+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    out+16(FP), DI
	VMOVDQU lonib<>(SB), Y14
	VMOVDQU hinib<>(SB), Y15
	VMOVDQU nib<>(SB), Y13

loop:
	VMOVDQU 0(SI), Y0
	VMOVDQU 32(SI), Y1
	CLASS(Y0, Y2)
	CLASS(Y1, Y3)
	VPMOVMSKB Y0, R8   // digits
	VPMOVMSKB Y1, AX
	SHLQ    $32, AX
	ORQ     R8, AX
	MASK64(1, BX, R9)  // brand digits
	MASK64(2, DX, R10) // separators
	ORQ     AX, DX     // digits or separators
	MOVQ    AX, 0(DI)
	MOVQ    BX, 8(DI)
	MOVQ    DX, 16(DI)
	ADDQ    $64, SI
	ADDQ    $24, DI
	DECQ    CX
	JNZ     loop

	VZEROUPPER
	RET
