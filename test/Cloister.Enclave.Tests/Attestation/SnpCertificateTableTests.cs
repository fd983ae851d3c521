using System.Buffers.Binary;
using Cloister.Enclave.Attestation;

namespace Cloister.Enclave.Tests.Attestation;

public sealed class SnpCertificateTableTests
{
    [Fact]
    public void Parse_ReturnsSigningKeyFirstThenAskAndArk_WhateverTheTableOrder()
    {
        byte[] table = RecordedEvidence.CertificateTable(("ark", RecordedEvidence.Ark), ("ask", RecordedEvidence.Ask), ("vcek", RecordedEvidence.Vcek));

        Assert.True(SnpCertificateTable.TryParse(table, out var certificates, out _));

        Assert.Equal([RecordedEvidence.Vcek, RecordedEvidence.Ask, RecordedEvidence.Ark], certificates);
    }

    [Fact]
    public void Parse_SkipsUnknownGuids()
    {
        byte[] table = RecordedEvidence.CertificateTable(("vcek", RecordedEvidence.Vcek), ("ask", [1, 2, 3]));
        table[24] ^= 0xff; // the second entry's GUID is no longer ASK's

        Assert.True(SnpCertificateTable.TryParse(table, out var certificates, out _));

        Assert.Equal([RecordedEvidence.Vcek], certificates);
    }

    [Fact]
    public void Parse_GuidsAreInRfc4122ByteOrder()
    {
        Assert.Equal(Guid.Parse("63da758d-e664-4564-adc5-f4b93be8accd").ToByteArray(bigEndian: true), SnpCertificateTable.Guid("vcek").ToArray());
        Assert.Equal(Guid.Parse("c0b406a4-a803-4952-9743-3fb6014cd0ae").ToByteArray(bigEndian: true), SnpCertificateTable.Guid("ark").ToArray());
    }

    [Fact]
    public void Parse_EmptyTable_HasNoCertificates()
    {
        Assert.True(SnpCertificateTable.TryParse(new byte[24], out var certificates, out _));
        Assert.Empty(certificates);
    }

    [Fact]
    public void Parse_EntryOutsideTheBuffer_IsRefused()
    {
        byte[] table = RecordedEvidence.CertificateTable(("vcek", RecordedEvidence.Vcek));
        BinaryPrimitives.WriteUInt32LittleEndian(table.AsSpan(20), (uint)RecordedEvidence.Vcek.Length + 1);

        Assert.False(SnpCertificateTable.TryParse(table, out _, out string? error));
        Assert.StartsWith("auxblob:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateEntry_IsRefused()
    {
        byte[] table = RecordedEvidence.CertificateTable(("vcek", RecordedEvidence.Vcek), ("vcek", RecordedEvidence.Vcek));

        Assert.False(SnpCertificateTable.TryParse(table, out _, out _));
    }

    [Fact]
    public void Parse_EveryTruncation_IsRefusedWithoutThrowing()
    {
        byte[] table = RecordedEvidence.CertificateTable(("vcek", RecordedEvidence.Vcek), ("ask", RecordedEvidence.Ask));

        // Cuts inside the entries lose the terminator; cuts inside the certificates put an entry outside the buffer.
        for (int length = 0; length < table.Length; length++)
        {
            Assert.False(SnpCertificateTable.TryParse(table.AsSpan(0, length), out _, out _));
        }
    }

    [Fact]
    public void Parse_RandomMutations_NeverThrow()
    {
        byte[] table = RecordedEvidence.CertificateTable(("vcek", RecordedEvidence.Vcek), ("ask", RecordedEvidence.Ask), ("ark", RecordedEvidence.Ark));
        var random = new Random(5);
        for (int i = 0; i < 5000; i++)
        {
            byte[] mutated = (byte[])table.Clone();
            int position = random.Next(96);
            mutated[position] = (byte)random.Next(256);
            if (SnpCertificateTable.TryParse(mutated, out var certificates, out _))
            {
                Assert.All(certificates, c => Assert.NotEmpty(c));
            }
        }
    }
}
