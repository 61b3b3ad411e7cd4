//go:build !purego

#include "textflag.h"

// The SHA-NI kernels. State is held as Intel's instructions want it: one
// register with words A B E F, one with C D G H. Every four rounds take
// W+K in X0 (SHA256RNDS2 reads it implicitly): two rounds on its low
// half, two on its high. The message schedule (SHA256MSG1, SHA256MSG2)
// depends only on the block, so block2 computes it once and feeds both
// states' rounds from the same X0.
//
// X0 W+K   X1 X2 state a   X3-X6 schedule   X7 scratch   X8 byte swap
// X9 X10 state a at block start   X11 X12 state b   X13 X14 state b at start

// LOAD: m = the four big-endian message words at off(SI).
#define LOAD(off, m) MOVOU off(SI), m; PSHUFB X8, m

// WK: X0 = m plus the four round constants at k(AX).
#define WK(m, k) MOVO m, X0; PADDD k(AX), X0

// MSG2: next, already through SHA256MSG1, becomes the next four words.
#define MSG2(cur, prev, next) MOVO cur, X7; PALIGNR $4, prev, X7; PADDD X7, next; SHA256MSG2 cur, next

// R1: four rounds of state a.
#define R1 \
	SHA256RNDS2 X0, X1, X2 \
	PSHUFD      $0x0e, X0, X0 \
	SHA256RNDS2 X0, X2, X1

// R2: four rounds of state a and of state b, interleaved: the two chains
// of SHA256RNDS2 are independent, so each runs in the other's latency.
// Then the instruction's throughput bounds instead: on Sapphire Rapids one
// SHA256RNDS2 every ~1.03 ns against a latency of ~1.39 ns, so a block
// into two states costs about 1.5 blocks into one, not 1 and not 2.
#define R2 \
	SHA256RNDS2 X0, X1, X2 \
	SHA256RNDS2 X0, X11, X12 \
	PSHUFD      $0x0e, X0, X0 \
	SHA256RNDS2 X0, X2, X1 \
	SHA256RNDS2 X0, X12, X11

// ROUNDS: the 64 rounds of the block at SI, with R the four-round step.
#define ROUNDS(R) \
	LOAD(0, X3);  WK(X3, 0);   R \
	LOAD(16, X4); WK(X4, 16);  R; SHA256MSG1 X4, X3 \
	LOAD(32, X5); WK(X5, 32);  R; SHA256MSG1 X5, X4 \
	LOAD(48, X6); WK(X6, 48);  R; MSG2(X6, X5, X3); SHA256MSG1 X6, X5 \
	WK(X3, 64);  R; MSG2(X3, X6, X4); SHA256MSG1 X3, X6 \
	WK(X4, 80);  R; MSG2(X4, X3, X5); SHA256MSG1 X4, X3 \
	WK(X5, 96);  R; MSG2(X5, X4, X6); SHA256MSG1 X5, X4 \
	WK(X6, 112); R; MSG2(X6, X5, X3); SHA256MSG1 X6, X5 \
	WK(X3, 128); R; MSG2(X3, X6, X4); SHA256MSG1 X3, X6 \
	WK(X4, 144); R; MSG2(X4, X3, X5); SHA256MSG1 X4, X3 \
	WK(X5, 160); R; MSG2(X5, X4, X6); SHA256MSG1 X5, X4 \
	WK(X6, 176); R; MSG2(X6, X5, X3); SHA256MSG1 X6, X5 \
	WK(X3, 192); R; MSG2(X3, X6, X4); SHA256MSG1 X3, X6 \
	WK(X4, 208); R; MSG2(X4, X3, X5) \
	WK(X5, 224); R; MSG2(X5, X4, X6) \
	WK(X6, 240); R

// UNPACK: h0-h7 at (reg) into ABEF in lo, CDGH in hi.
#define UNPACK(reg, lo, hi) \
	MOVOU   (reg), lo \
	MOVOU   16(reg), hi \
	PSHUFD  $0xb1, lo, lo \
	PSHUFD  $0x1b, hi, hi \
	MOVO    lo, X7 \
	PALIGNR $8, hi, lo \
	PBLENDW $0xf0, X7, hi

// PACK: ABEF in lo, CDGH in hi back to h0-h7 at (reg).
#define PACK(reg, lo, hi) \
	PSHUFD  $0x1b, lo, lo \
	PSHUFD  $0xb1, hi, hi \
	MOVO    lo, X7 \
	PBLENDW $0xf0, hi, lo \
	PALIGNR $8, X7, hi \
	MOVOU   lo, (reg) \
	MOVOU   hi, 16(reg)

// func block(h *[8]uint32, p []byte)
// Requires: SHA, SSSE3, SSE4.1. len(p) is a multiple of 64.
TEXT ·block(SB), NOSPLIT, $0-32
	MOVQ  h+0(FP), DI
	MOVQ  p_base+8(FP), SI
	MOVQ  p_len+16(FP), DX
	ANDQ  $~63, DX
	JZ    done1
	ADDQ  SI, DX
	UNPACK(DI, X1, X2)
	MOVOU flip<>(SB), X8
	LEAQ  k256<>(SB), AX

loop1:
	MOVO X1, X9
	MOVO X2, X10
	ROUNDS(R1)
	PADDD X9, X1
	PADDD X10, X2
	ADDQ  $64, SI
	CMPQ  SI, DX
	JNE   loop1
	PACK(DI, X1, X2)

done1:
	RET

// func block2(ha, hb *[8]uint32, p []byte)
// Requires: SHA, SSSE3, SSE4.1. len(p) is a multiple of 64.
TEXT ·block2(SB), NOSPLIT, $0-40
	MOVQ  ha+0(FP), DI
	MOVQ  hb+8(FP), BX
	MOVQ  p_base+16(FP), SI
	MOVQ  p_len+24(FP), DX
	ANDQ  $~63, DX
	JZ    done2
	ADDQ  SI, DX
	UNPACK(DI, X1, X2)
	UNPACK(BX, X11, X12)
	MOVOU flip<>(SB), X8
	LEAQ  k256<>(SB), AX

loop2:
	MOVO X1, X9
	MOVO X2, X10
	MOVO X11, X13
	MOVO X12, X14
	ROUNDS(R2)
	PADDD X9, X1
	PADDD X10, X2
	PADDD X13, X11
	PADDD X14, X12
	ADDQ  $64, SI
	CMPQ  SI, DX
	JNE   loop2
	PACK(DI, X1, X2)
	PACK(BX, X11, X12)

done2:
	RET

// func cpuid(leaf, sub uint32) (a, b, c, d uint32)
TEXT ·cpuid(SB), NOSPLIT, $0-24
	MOVL leaf+0(FP), AX
	MOVL sub+4(FP), CX
	CPUID
	MOVL AX, a+8(FP)
	MOVL BX, b+12(FP)
	MOVL CX, c+16(FP)
	MOVL DX, d+20(FP)
	RET

// flip: PSHUFB mask that turns each 32-bit word big-endian.
DATA flip<>+0(SB)/8, $0x0405060700010203
DATA flip<>+8(SB)/8, $0x0c0d0e0f08090a0b
GLOBL flip<>(SB), RODATA|NOPTR, $16

// k256: the 64 round constants, K[i] at 4*i.
DATA k256<>+0(SB)/8, $0x71374491428a2f98
DATA k256<>+8(SB)/8, $0xe9b5dba5b5c0fbcf
DATA k256<>+16(SB)/8, $0x59f111f13956c25b
DATA k256<>+24(SB)/8, $0xab1c5ed5923f82a4
DATA k256<>+32(SB)/8, $0x12835b01d807aa98
DATA k256<>+40(SB)/8, $0x550c7dc3243185be
DATA k256<>+48(SB)/8, $0x80deb1fe72be5d74
DATA k256<>+56(SB)/8, $0xc19bf1749bdc06a7
DATA k256<>+64(SB)/8, $0xefbe4786e49b69c1
DATA k256<>+72(SB)/8, $0x240ca1cc0fc19dc6
DATA k256<>+80(SB)/8, $0x4a7484aa2de92c6f
DATA k256<>+88(SB)/8, $0x76f988da5cb0a9dc
DATA k256<>+96(SB)/8, $0xa831c66d983e5152
DATA k256<>+104(SB)/8, $0xbf597fc7b00327c8
DATA k256<>+112(SB)/8, $0xd5a79147c6e00bf3
DATA k256<>+120(SB)/8, $0x1429296706ca6351
DATA k256<>+128(SB)/8, $0x2e1b213827b70a85
DATA k256<>+136(SB)/8, $0x53380d134d2c6dfc
DATA k256<>+144(SB)/8, $0x766a0abb650a7354
DATA k256<>+152(SB)/8, $0x92722c8581c2c92e
DATA k256<>+160(SB)/8, $0xa81a664ba2bfe8a1
DATA k256<>+168(SB)/8, $0xc76c51a3c24b8b70
DATA k256<>+176(SB)/8, $0xd6990624d192e819
DATA k256<>+184(SB)/8, $0x106aa070f40e3585
DATA k256<>+192(SB)/8, $0x1e376c0819a4c116
DATA k256<>+200(SB)/8, $0x34b0bcb52748774c
DATA k256<>+208(SB)/8, $0x4ed8aa4a391c0cb3
DATA k256<>+216(SB)/8, $0x682e6ff35b9cca4f
DATA k256<>+224(SB)/8, $0x78a5636f748f82ee
DATA k256<>+232(SB)/8, $0x8cc7020884c87814
DATA k256<>+240(SB)/8, $0xa4506ceb90befffa
DATA k256<>+248(SB)/8, $0xc67178f2bef9a3f7
GLOBL k256<>(SB), RODATA|NOPTR, $256
