using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Cloister.Enclave.Attestation;

/// <summary>AWS Nitro Enclaves attestation documents from the Nitro Secure Module device (<c>/dev/nsm</c>).</summary>
/// <remarks>
/// One ioctl per request, as the NSM driver defines it (Linux include/uapi/linux/nsm.h, <c>NSM_IOCTL_RAW</c>; the same
/// call as aws-nitro-enclaves-nsm-api's driver): a <c>struct nsm_raw</c> of two iovecs, the CBOR request in and the
/// CBOR response out (at most 0x3000 bytes). The
/// report data travels as <c>user_data</c>. Thread safety: each call opens the device for itself.
/// </remarks>
public sealed partial class NsmEvidenceProvider : IEvidenceProvider
{
    /// <summary>The device path inside a Nitro enclave.</summary>
    public const string DefaultDevicePath = "/dev/nsm";

    // NSM_RESPONSE_MAX_SIZE in the driver and in aws-nitro-enclaves-nsm-api.
    private const int MaxResponseBytes = 0x3000;

    // _IOWR(0x0A, 0, struct nsm_raw): direction read|write (3) << 30, size 32 << 16, type 0x0A << 8, number 0.
    private const uint NsmIoctlRequest = 0xC0200A00;

    /// <summary>A provider for the NSM device at <paramref name="devicePath"/>.</summary>
    public NsmEvidenceProvider(string devicePath = DefaultDevicePath)
    {
        ArgumentException.ThrowIfNullOrEmpty(devicePath);
        DevicePath = devicePath;
    }

    /// <summary>The NSM device.</summary>
    public string DevicePath { get; }

    /// <summary>"nitro".</summary>
    public string Tee => "nitro";

    /// <summary>An attestation document whose user_data is <paramref name="reportData"/>.</summary>
    /// <exception cref="EvidenceException">The device could not be used or answered an error.</exception>
    public ValueTask<WorkerEvidence> GetEvidenceAsync(ReadOnlyMemory<byte> reportData, CancellationToken cancellationToken)
    {
        if (reportData.Length != ConfigfsTsmEvidenceProvider.ReportDataSize)
        {
            throw new ArgumentException("Report data must be 64 bytes.", nameof(reportData));
        }

        byte[] request = NsmMessages.EncodeAttestationRequest(reportData.Span);
        return new ValueTask<WorkerEvidence>(Task.Run(
            () =>
            {
                byte[] response = Exchange(request);
                return NsmMessages.TryParseAttestationResponse(response, out byte[]? document, out string? error)
                    ? new WorkerEvidence(Tee, document, [])
                    : throw new EvidenceException(error);
            },
            cancellationToken));
    }

    private unsafe byte[] Exchange(byte[] request)
    {
        SafeFileHandle device;
        try
        {
            device = File.OpenHandle(DevicePath, FileMode.Open, FileAccess.ReadWrite);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EvidenceException("nsm: opening the device failed.", e);
        }

        using (device)
        {
            byte[] response = new byte[MaxResponseBytes];
            fixed (byte* requestPointer = request)
            fixed (byte* responsePointer = response)
            {
                var message = new NsmMessage
                {
                    RequestBase = requestPointer,
                    RequestLength = (nuint)request.Length,
                    ResponseBase = responsePointer,
                    ResponseLength = (nuint)response.Length,
                };
                if (Ioctl(device, NsmIoctlRequest, ref message) != 0)
                {
                    throw new EvidenceException($"nsm: the request ioctl failed (errno {Marshal.GetLastPInvokeError()}).");
                }

                // The driver sets the response iovec's length to what it wrote.
                return response.AsSpan(0, (int)Math.Min(message.ResponseLength, (nuint)response.Length)).ToArray();
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "ioctl", SetLastError = true)]
    private static partial int Ioctl(SafeFileHandle fd, nuint request, ref NsmMessage message);

    /// <summary>struct nsm_raw { struct nsm_iovec request; struct nsm_iovec response; } (each iovec: u64 address, u64 length).</summary>
    [StructLayout(LayoutKind.Sequential)]
    private unsafe struct NsmMessage
    {
        public byte* RequestBase;
        public nuint RequestLength;
        public byte* ResponseBase;
        public nuint ResponseLength;
    }
}
