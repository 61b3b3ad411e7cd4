// Stand-in for bcryptprimitives.dll, which Debian's Wine 8.0 lacks. Go 1.24+
// Windows binaries import ProcessPrng from it for crypto/rand and the
// runtime's seed, and stop at load time without it. testenv.Wine builds this
// with mingw-w64 and drops it into each test prefix's system32. It forwards
// to advapi32's RtlGenRandom (SystemFunction036), which Wine has.
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buf, ULONG len);

BOOL WINAPI ProcessPrng(PBYTE pbData, SIZE_T cbData)
{
	while (cbData > 0) {
		ULONG n = cbData > 0x40000000 ? 0x40000000 : (ULONG)cbData;
		if (!SystemFunction036(pbData, n))
			return FALSE;
		pbData += n;
		cbData -= n;
	}
	return TRUE;
}
