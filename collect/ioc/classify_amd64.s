//go:build !purego

#include "textflag.h"

// Each byte's class from two 16-entry tables, one for its low nibble and
// one for its high, ANDed (VPSHUFB looks both up 32 bytes at a time):
//   0x80 '.'   0x40 digit   0x20 a-f A-F   0x10 a-o A-O
//   0x08 p-z P-Z   0x04 '-'   0x02 '_'
// Every class is a byte that continues a name (or a dot); a byte of
// class 0 stands alone. classify.go says what the masks are.
DATA lonib<>+0(SB)/8, $0x5878787878787848
DATA lonib<>+8(SB)/8, $0x1290141010185858
DATA lonib<>+16(SB)/8, $0x5878787878787848
DATA lonib<>+24(SB)/8, $0x1290141010185858
GLOBL lonib<>(SB), RODATA|NOPTR, $32

DATA hinib<>+0(SB)/8, $0x08300a3040840000
DATA hinib<>+8(SB)/8, $0x0000000000000000
DATA hinib<>+16(SB)/8, $0x08300a3040840000
DATA hinib<>+24(SB)/8, $0x0000000000000000
GLOBL hinib<>(SB), RODATA|NOPTR, $32

DATA nib<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+8(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+16(SB)/8, $0x0f0f0f0f0f0f0f0f
DATA nib<>+24(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nib<>(SB), RODATA|NOPTR, $32

DATA hexcls<>+0(SB)/8, $0x6060606060606060
DATA hexcls<>+8(SB)/8, $0x6060606060606060
DATA hexcls<>+16(SB)/8, $0x6060606060606060
DATA hexcls<>+24(SB)/8, $0x6060606060606060
GLOBL hexcls<>(SB), RODATA|NOPTR, $32

// CLASS classifies the 32 bytes in Y_in into their masks, as 32-bit
// values: dot, digit, not name, not hex.
#define CLASS(in, dot, dig, notname, nothex) \
	VPSRLW    $4, in, Y2 \
	VPAND     Y13, Y2, Y2 \
	VPAND     Y13, in, Y3 \
	VPSHUFB   Y2, Y15, Y2 \
	VPSHUFB   Y3, Y14, Y3 \
	VPAND     Y2, Y3, Y2 \
	VPMOVMSKB Y2, dot \
	VPSLLW    $1, Y2, Y3 \
	VPMOVMSKB Y3, dig \
	VPCMPEQB  Y12, Y2, Y3 \
	VPMOVMSKB Y3, notname \
	VPAND     Y11, Y2, Y2 \
	VPCMPEQB  Y12, Y2, Y2 \
	VPMOVMSKB Y2, nothex

DATA spans16<>+0(SB)/8, $0x0001000100010001
DATA spans16<>+8(SB)/8, $0x0001000100010001
DATA spans16<>+16(SB)/8, $0x0001000100010001
DATA spans16<>+24(SB)/8, $0x0001000100010001
GLOBL spans16<>(SB), RODATA|NOPTR, $32

// GROUP classifies the 64 bytes at off(SI) into their masks, stored at
// slot(SP) (dots), slot+32 (digits), slot+64 (name bytes), slot+96 (hex).
#define GROUP(off, slot) \
	VMOVDQU off(SI), Y0 \
	VMOVDQU off+32(SI), Y1 \
	CLASS(Y0, AX, BX, DX, R8) \
	CLASS(Y1, R9, R10, R11, R12) \
	SHLQ    $32, R9 \
	ORQ     R9, AX \
	SHLQ    $32, R10 \
	ORQ     R10, BX \
	SHLQ    $32, R11 \
	ORQ     R11, DX \
	NOTQ    DX \
	SHLQ    $32, R12 \
	ORQ     R12, R8 \
	NOTQ    R8 \
	MOVQ    AX, slot(SP) \
	MOVQ    BX, slot+32(SP) \
	MOVQ    DX, slot+64(SP) \
	MOVQ    R8, slot+96(SP)

// func marks4AVX2(p *byte, n int, carry *[2]uint64, out *uint64)
// marks four groups (256 bytes) at a time, n a multiple of 256: each
// group's masks classified (GROUP), then the four marked together, a
// group to each 64-bit lane, the lane before as its carry (marksOf in
// classify.go is the same in Go).
TEXT ·marks4AVX2(SB), NOSPLIT, $128-32
	MOVQ    p+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    carry+16(FP), DI
	VMOVQ   0(DI), X4 // lane 0: the digits of the 64 bytes before
	VMOVQ   8(DI), X5 // their name bytes
	MOVQ    out+24(FP), DI
	VMOVDQU lonib<>(SB), Y14
	VMOVDQU hinib<>(SB), Y15
	VMOVDQU nib<>(SB), Y13
	VMOVDQU hexcls<>(SB), Y11
	VPXOR   Y12, Y12, Y12

loop4:
	CMPQ  CX, $256
	JLT   done4
	GROUP(0, 0)
	GROUP(64, 8)
	GROUP(128, 16)
	GROUP(192, 24)
	VMOVDQU 0(SP), Y0  // dots
	VMOVDQU 32(SP), Y1 // digits
	VMOVDQU 64(SP), Y2 // name bytes
	VMOVDQU 96(SP), Y3 // hex digits

	// Each lane's group before: the carry, then lanes 0-2.
	VPERMQ   $0x93, Y1, Y6
	VPBLENDD $0x03, Y4, Y6, Y7 // digits before
	VMOVDQU  Y6, Y4
	VPERMQ   $0x93, Y2, Y6
	VPBLENDD $0x03, Y5, Y6, Y8 // name bytes before
	VMOVDQU  Y6, Y5

	// dots &= d1 & (^x2 | d2&^x3 | d2&d3&^x4)
	VPSLLQ $1, Y1, Y6
	VPSRLQ $63, Y7, Y9
	VPOR   Y9, Y6, Y6
	VPAND  Y6, Y0, Y0    // d1
	VPSLLQ $2, Y1, Y9
	VPSRLQ $62, Y7, Y6
	VPOR   Y6, Y9, Y9    // d2
	VPSLLQ $3, Y1, Y10
	VPSRLQ $61, Y7, Y6
	VPOR   Y6, Y10, Y10
	VPAND  Y9, Y10, Y10  // d2&d3
	VPSLLQ $3, Y2, Y6
	VPSRLQ $61, Y8, Y7
	VPOR   Y7, Y6, Y6    // x3
	VPANDN Y9, Y6, Y9    // d2&^x3
	VPSLLQ $4, Y2, Y6
	VPSRLQ $60, Y8, Y7
	VPOR   Y7, Y6, Y6    // x4
	VPANDN Y10, Y6, Y10  // d2&d3&^x4
	VPOR   Y10, Y9, Y9
	VPSLLQ $2, Y2, Y6
	VPSRLQ $62, Y8, Y7
	VPOR   Y7, Y6, Y6    // x2
	VPCMPEQQ Y7, Y7, Y7
	VPXOR  Y7, Y6, Y6    // ^x2
	VPOR   Y6, Y9, Y9
	VPAND  Y9, Y0, Y0

	// dots &= g1 & (e2 | g2&e3 | g2&g3&e4), in complements:
	// dots &^= ng1 | ne2&(ng2|ne3)&(ng2|ng3|ne4), ngk = ^digits>>k and
	// nek = ^dots>>k (zero past the 64: what follows is kept)
	VPXOR   Y7, Y1, Y6   // ^digits
	VMOVDQU 0(SP), Y8
	VPXOR   Y7, Y8, Y8   // ^dots
	VPSRLQ  $1, Y6, Y9   // ng1
	VPSRLQ  $2, Y6, Y10  // ng2
	VPSRLQ  $3, Y6, Y6   // ng3
	VPSRLQ  $2, Y8, Y7   // ne2
	VPSRLQ  $3, Y8, Y2   // ne3
	VPOR    Y10, Y2, Y2
	VPAND   Y7, Y2, Y2
	VPSRLQ  $4, Y8, Y8   // ne4
	VPOR    Y10, Y8, Y8
	VPOR    Y6, Y8, Y8
	VPAND   Y8, Y2, Y2
	VPOR    Y9, Y2, Y2
	VPANDN  Y0, Y2, Y0

	// spans
	VPSRLQ $8, Y3, Y6
	VPAND  Y6, Y3, Y3
	VPSRLQ $4, Y3, Y6
	VPAND  Y6, Y3, Y3
	VPSRLQ $2, Y3, Y6
	VPAND  Y6, Y3, Y3
	VPSRLQ $1, Y3, Y6
	VPAND  Y6, Y3, Y3
	VPAND  spans16<>(SB), Y3, Y3

	// out: dots and spans of each group in turn
	VPUNPCKLQDQ Y3, Y0, Y6
	VPUNPCKHQDQ Y3, Y0, Y7
	VPERM2I128  $0x20, Y7, Y6, Y8
	VPERM2I128  $0x31, Y7, Y6, Y9
	VMOVDQU     Y8, (DI)
	VMOVDQU     Y9, 32(DI)
	ADDQ        $256, SI
	ADDQ        $64, DI
	SUBQ        $256, CX
	JMP         loop4

done4:
	MOVQ  carry+16(FP), DI
	VMOVQ X4, 0(DI)
	VMOVQ X5, 8(DI)
	VZEROUPPER
	RET
