using System.Diagnostics;

namespace Cloister.Protocol.Rings;

/// <summary>
/// One single-producer/single-consumer ring of fixed slots in shared memory. A message starts at a slot
/// boundary with a 16-byte header (request id, length, status) and continues through as many consecutive slots
/// as it needs, so a message may be larger than the whole ring: the producer publishes the slots it could write
/// and waits for the consumer to free more. Each process uses one side of a ring through one instance; the
/// instance caches its own counter and the last value it saw of the peer's.
/// </summary>
/// <remarks>
/// Counters are 64-bit and never wrap in practice. The producer writes slot contents, then publishes
/// <c>tail</c> with a full fence (<see cref="Interlocked.Exchange(ref long, long)"/>) and only then reads the
/// consumer's sleeping flag; the sleeper sets its flag with a full fence and then re-reads <c>tail</c>. One of
/// the two therefore sees the other (Dekker), so a wake-up cannot be lost; a timed wait bounds the damage of any bug.
/// </remarks>
internal sealed unsafe class SpscRing
{
    public const int MessageHeaderBytes = 16;

    private const int TailOffset = 0;
    private const int HeadOffset = 128;
    private const int ConsumerSleepingOffset = 256;
    private const int ConsumerFutexOffset = 260;
    private const int ProducerSleepingOffset = 384;
    private const int ProducerFutexOffset = 388;

    private readonly byte* _control;
    private readonly byte* _data;
    private readonly int _slotSize;
    private readonly long _slotCount;
    private readonly long _mask;
    private readonly long _spinTicks;
    private readonly int _maxMessageBytes;
    private readonly int _sleepMilliseconds;

    // Producer side: our tail and the consumer's head as last seen. Consumer side: our head and the producer's tail.
    private long _own;
    private long _peerSeen;

    public SpscRing(byte* control, byte* data, RingOptions options)
    {
        _control = control;
        _data = data;
        _slotSize = options.SlotSize;
        _slotCount = options.SlotCount;
        _mask = options.SlotCount - 1;
        _spinTicks = options.SpinMicroseconds * Stopwatch.Frequency / 1_000_000;
        _maxMessageBytes = options.MaxMessageBytes;
        _sleepMilliseconds = options.SleepMilliseconds;
    }

    private long* Tail => (long*)(_control + TailOffset);

    private long* Head => (long*)(_control + HeadOffset);

    /// <summary>How often this side found the ring full (producer) or empty (consumer) and had to wait (diagnostics, tests).</summary>
    public long Waits { get; private set; }

    /// <summary>How often this side slept on the futex after spinning (diagnostics, tests).</summary>
    public long Sleeps { get; private set; }

    /// <summary>The number of slots a message of <paramref name="length"/> bytes occupies.</summary>
    public long SlotsFor(int length) => Math.Max(1, (MessageHeaderBytes + (long)length + _slotSize - 1) / _slotSize);

    /// <summary>Consumer side: whether no further slot is published right now (nothing else waiting to be read).</summary>
    public bool IsDrained => Volatile.Read(ref *Tail) == _own;

    /// <summary>Producer side: whether a message of <paramref name="length"/> bytes fits without waiting.</summary>
    public bool HasRoomFor(int length) => SlotsFor(length) <= _slotCount - (_own - Volatile.Read(ref *Head));

    /// <summary>Write one message; waits (spin, then futex) while the ring is full. Not thread-safe: one producer.</summary>
    public void Write(long id, int status, ReadOnlySpan<byte> payload, RingWaitContext context)
    {
        long slots = SlotsFor(payload.Length);
        long tail = _own;
        int offset = 0; // payload bytes written so far
        for (long written = 0; written < slots;)
        {
            long free = _slotCount - (tail - _peerSeen);
            if (free == 0)
            {
                _peerSeen = WaitForChange(Head, _peerSeen, ProducerSleepingOffset, ProducerFutexOffset, context);
                continue;
            }

            long batch = Math.Min(free, slots - written);
            for (long i = 0; i < batch; i++, written++)
            {
                byte* slot = _data + ((tail + i) & _mask) * _slotSize;
                int room = _slotSize;
                if (written == 0)
                {
                    *(long*)slot = id;
                    *(int*)(slot + 8) = payload.Length;
                    *(int*)(slot + 12) = status;
                    slot += MessageHeaderBytes;
                    room -= MessageHeaderBytes;
                }

                int chunk = Math.Min(room, payload.Length - offset);
                payload.Slice(offset, chunk).CopyTo(new Span<byte>(slot, chunk));
                offset += chunk;
            }

            tail += batch;
            _own = tail;
            Interlocked.Exchange(ref *Tail, tail);
            WakeIfSleeping(ConsumerSleepingOffset, ConsumerFutexOffset);
        }
    }

    /// <summary>Wait for the next message and read its header (the message stays in the ring until <see cref="ReadBody"/>).</summary>
    /// <exception cref="InvalidDataException">The length in the ring is negative or above the limit (a corrupt or hostile peer).</exception>
    public (long Id, int Length, int Status) ReadHeader(RingWaitContext context)
    {
        while (_peerSeen == _own)
        {
            _peerSeen = WaitForChange(Tail, _own, ConsumerSleepingOffset, ConsumerFutexOffset, context);
        }

        byte* slot = _data + (_own & _mask) * _slotSize;
        int length = *(int*)(slot + 8);
        if (length < 0 || length > _maxMessageBytes)
        {
            throw new InvalidDataException("A ring message's length is out of range.");
        }

        return (*(long*)slot, length, *(int*)(slot + 12));
    }

    /// <summary>
    /// Consume the message whose header <see cref="ReadHeader"/> returned, copying its payload into
    /// <paramref name="destination"/> (exactly its length) or dropping it when <paramref name="discard"/> is set.
    /// Every slot it occupied is zeroed before it is handed back to the producer.
    /// </summary>
    public void ReadBody(int length, Span<byte> destination, bool discard, RingWaitContext context)
    {
        long slots = SlotsFor(length);
        long head = _own;
        int offset = 0;
        for (long read = 0; read < slots;)
        {
            long available = _peerSeen - head;
            if (available == 0)
            {
                _peerSeen = WaitForChange(Tail, head, ConsumerSleepingOffset, ConsumerFutexOffset, context);
                continue;
            }

            long batch = Math.Min(available, slots - read);
            for (long i = 0; i < batch; i++)
            {
                byte* start = _data + ((head + i) & _mask) * _slotSize;
                byte* slot = start;
                int room = _slotSize;
                if (read + i == 0)
                {
                    slot += MessageHeaderBytes;
                    room -= MessageHeaderBytes;
                }

                int chunk = Math.Min(room, length - offset);
                if (!discard)
                {
                    new ReadOnlySpan<byte>(slot, chunk).CopyTo(destination.Slice(offset, chunk));
                }

                // A consumed slot is wiped before the producer may reuse it: the shared memory file (tmpfs, readable by
                // the file's owner, left behind by a kill -9) never keeps a message once it has been read.
                new Span<byte>(start, (int)(slot - start) + chunk).Clear();
                offset += chunk;
            }

            read += batch;
            head += batch;
            _own = head;
            Interlocked.Exchange(ref *Head, head);
            WakeIfSleeping(ProducerSleepingOffset, ProducerFutexOffset);
        }
    }

    /// <summary>Wake both sides' sleepers unconditionally (a side is closing).</summary>
    public void WakeAll()
    {
        Wake(ConsumerFutexOffset);
        Wake(ProducerFutexOffset);
    }

    private void WakeIfSleeping(int sleepingOffset, int futexOffset)
    {
        // Called right after a full fence (the publishing Interlocked.Exchange), so this read cannot move before it.
        if (Volatile.Read(ref *(int*)(_control + sleepingOffset)) != 0)
        {
            Wake(futexOffset);
        }
    }

    private void Wake(int futexOffset)
    {
        int* word = (int*)(_control + futexOffset);
        Interlocked.Increment(ref *word);
        Futex.Wake(word, int.MaxValue);
    }

    /// <summary>Wait until the peer's counter differs from <paramref name="seen"/>: spin briefly, then sleep on the futex.</summary>
    private long WaitForChange(long* counter, long seen, int sleepingOffset, int futexOffset, RingWaitContext context)
    {
        long value = Volatile.Read(ref *counter);
        if (value != seen)
        {
            return value;
        }

        Waits++;
        long deadline = Stopwatch.GetTimestamp() + _spinTicks;
        while (Stopwatch.GetTimestamp() < deadline)
        {
            // Yield rather than pause: when the peer's thread shares this core (2 cores, other load), a pure spin keeps
            // it off the CPU for the whole spin. Measured on the 2-core machine under load: pure spinning gave
            // bimodal ~2 µs / ~113 µs round trips; yielding every turn ~4-5 µs steadily (docs/benchmarks.md).
            Thread.Yield();
            value = Volatile.Read(ref *counter);
            if (value != seen)
            {
                return value;
            }
        }

        int* sleeping = (int*)(_control + sleepingOffset);
        int* word = (int*)(_control + futexOffset);
        while (true)
        {
            context.ThrowIfStopped();
            int ticket = Volatile.Read(ref *word);
            Interlocked.Exchange(ref *sleeping, 1);
            value = Volatile.Read(ref *counter);
            if (value == seen)
            {
                Sleeps++;
                Futex.Wait(word, ticket, _sleepMilliseconds);
                value = Volatile.Read(ref *counter);
            }

            Volatile.Write(ref *sleeping, 0);
            if (value != seen)
            {
                return value;
            }
        }
    }
}

/// <summary>Lets a waiting ring operation give up: throws when the transport failed, was disposed or the peer is gone.</summary>
internal abstract class RingWaitContext
{
    /// <summary>Called before every futex sleep (and so at least every 100 ms while waiting).</summary>
    public abstract void ThrowIfStopped();
}
