namespace Cloister.Protocol.Tests;

public sealed class FairGateTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public void ATenantAlone_UsesEverySlotUpToItsOwnLimit()
    {
        var gate = new FairGate("things", capacity: 8, maxRunningPerTenant: 6, maxQueuedPerTenant: 10);

        var tickets = Enumerable.Range(0, 8).Select(_ => gate.Enqueue("a")).ToList();

        Assert.Equal(6, tickets.Count(t => t.Granted.IsCompleted));
        Assert.Equal(6, gate.Running);
    }

    [Fact]
    public void OverItsQueueLimit_ATenantIsRefused_AndOthersAreNot()
    {
        var gate = new FairGate("invocations", capacity: 2, maxRunningPerTenant: 2, maxQueuedPerTenant: 3);
        for (var i = 0; i < 5; i++)
        {
            gate.Enqueue("a");
        }

        var busy = Assert.Throws<TenantBusyException>(() => gate.Enqueue("a"));
        Assert.Contains("invocations", busy.Message, StringComparison.Ordinal);
        Assert.True(busy.RetryAfter > TimeSpan.Zero);

        var other = gate.Enqueue("b"); // queued, not refused: b has nothing waiting
        Assert.False(other.Granted.IsCompleted);
    }

    [Fact]
    public async Task FreedSlots_GoToTenantsInTurn_NotFirstComeFirstServed()
    {
        var gate = new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 100);
        var order = new List<string>();
        var running = gate.Enqueue("a");
        var waiting = new List<(string Name, FairGate.Ticket Ticket)>();
        for (var i = 1; i <= 5; i++)
        {
            waiting.Add(($"a{i}", gate.Enqueue("a")));
        }

        waiting.Add(("b1", gate.Enqueue("b")));
        waiting.Add(("b2", gate.Enqueue("b")));

        var current = running;
        for (var step = 0; step < waiting.Count; step++)
        {
            current.Dispose();
            var next = waiting.Single(w => w.Ticket.Granted.IsCompleted && !order.Contains(w.Name));
            await next.Ticket.Granted.WaitAsync(Patience);
            order.Add(next.Name);
            current = next.Ticket;
        }

        // b's first request waits for one of a's, not for all five.
        Assert.Equal(["a1", "b1", "a2", "b2", "a3", "a4", "a5"], order);
    }

    [Fact]
    public void ATenantAtItsRunningLimit_LeavesFreeSlotsToOthers()
    {
        var gate = new FairGate("invocations", capacity: 4, maxRunningPerTenant: 2, maxQueuedPerTenant: 10);
        var a = Enumerable.Range(0, 4).Select(_ => gate.Enqueue("a")).ToList();

        var b = gate.Enqueue("b");

        Assert.True(b.Granted.IsCompleted);
        Assert.Equal(2, a.Count(t => t.Granted.IsCompleted));

        // When b is done, a (at its own limit) still cannot take the slot.
        b.Dispose();
        Assert.Equal(2, a.Count(t => t.Granted.IsCompleted));

        a[0].Dispose();
        Assert.Equal(3, a.Count(t => t.Granted.IsCompleted));
    }

    [Fact]
    public async Task CancelledWaits_LeaveTheQueue_AndDisposingTwiceReleasesOnce()
    {
        var gate = new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 1);
        var holder = await gate.EnterAsync("a", CancellationToken.None);
        using (var cancel = new CancellationTokenSource())
        {
            var wait = gate.EnterAsync("a", cancel.Token).AsTask();
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait);
        }

        var queued = gate.Enqueue("a"); // room again in a's queue of one
        holder.Dispose();
        holder.Dispose();
        await queued.Granted.WaitAsync(Patience);
        Assert.Equal(1, gate.Running);
        queued.Dispose();
        Assert.Equal(0, gate.Running);
    }

    [Fact]
    public async Task AHeldTicket_KeepsItsSlot_UntilItsOwnerAndEveryHoldAreDone()
    {
        var gate = new FairGate("requests", capacity: 1, maxRunningPerTenant: 1, maxQueuedPerTenant: 1);
        var ticket = await gate.EnterAsync("a", CancellationToken.None);
        var first = ticket.Hold()!;
        var second = ticket.Hold()!;

        ticket.Dispose();
        ticket.Dispose();
        first.Dispose();
        first.Dispose();
        Assert.Equal(1, gate.Running);

        second.Dispose();
        Assert.Equal(0, gate.Running);
        Assert.Null(ticket.Hold()); // given back: nothing more to hold
    }
}
