//go:build !purego

#include "textflag.h"

DATA lower<>+0(SB)/8, $0x2020202020202020
GLOBL lower<>(SB), RODATA|NOPTR, $8
DATA mulLo<>+0(SB)/8, $0x9e3779b1
GLOBL mulLo<>(SB), RODATA|NOPTR, $8
DATA mulHi<>+0(SB)/8, $0x85ebca77
GLOBL mulHi<>(SB), RODATA|NOPTR, $8
DATA six<>+0(SB)/8, $63
GLOBL six<>(SB), RODATA|NOPTR, $8

// func filterAVX2(p *byte, words int, bloom *uint64, mask uint64, out *uint64)
// Four windows (at 0, 16, 32, 48) per 64 bytes: key8, filterMix, the
// filter word gathered, its two bits tested (filter.go's filterGeneric
// is the same in Go). 16 groups make an output word.
TEXT ·filterAVX2(SB), NOSPLIT, $0-40
	MOVQ         p+0(FP), SI
	MOVQ         words+8(FP), CX
	MOVQ         bloom+16(FP), DX
	MOVQ         mask+24(FP), AX
	MOVQ         out+32(FP), DI
	MOVQ         AX, X0
	VPBROADCASTQ X0, Y13
	VPBROADCASTQ lower<>(SB), Y14
	VPBROADCASTQ mulLo<>(SB), Y15
	VPBROADCASTQ mulHi<>(SB), Y12
	VPBROADCASTQ six<>(SB), Y11

word:
	TESTQ CX, CX
	JZ    done
	MOVQ  $16, BX
	XORQ  R8, R8

group:
	VMOVDQU     (SI), Y0
	VMOVDQU     32(SI), Y1
	VPUNPCKLQDQ Y1, Y0, Y2 // the windows at 0, 32 | 16, 48
	VPERMQ      $0xd8, Y2, Y2 // 0, 16, 32, 48
	VPOR        Y14, Y2, Y2 // key8
	VPSRLQ      $32, Y2, Y3
	VPMULUDQ    Y15, Y2, Y4
	VPMULUDQ    Y12, Y3, Y5
	VPXOR       Y5, Y4, Y4 // filterMix
	VPSRLQ      $48, Y4, Y6
	VPAND       Y13, Y6, Y6 // the words' places
	VPCMPEQQ    Y7, Y7, Y7
	VPXOR       Y8, Y8, Y8
	VPGATHERQQ  Y7, (DX)(Y6*8), Y8
	VPSRLQ      $36, Y4, Y9
	VPAND       Y11, Y9, Y9
	VPSRLQ      $42, Y4, Y3
	VPAND       Y11, Y3, Y3
	VPSRLVQ     Y9, Y8, Y9
	VPSRLVQ     Y3, Y8, Y3
	VPAND       Y3, Y9, Y9
	VPSLLQ      $63, Y9, Y9 // both bits: bit 0, to the top
	VMOVMSKPD   Y9, R9
	SHRQ        $4, R8
	SHLQ        $60, R9
	ORQ         R9, R8
	ADDQ        $64, SI
	DECQ        BX
	JNZ         group
	MOVQ        R8, (DI)
	ADDQ        $8, DI
	DECQ        CX
	JMP         word

done:
	VZEROUPPER
	RET
