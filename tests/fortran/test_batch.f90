!> Recorded batches from Fortran: two dependent scale_add dispatches replayed
!> 200 times with new push constants each time, checked exactly (small
!> integers and halves stay exact in f32); fill, copy and dispatch ops with
!> offsets, timestamps; one replay in flight (no_block behind a long kernel,
!> calibrated per device); misuse reported through stat and errmsg. Random
!> inputs; every element checked against a host reference.
program test_batch
    use gpuasync
    use gpuasync_test_support
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_size_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64
    implicit none

    !> scale_add's push constants: dst = src * a + b for i < n.
    type, bind(c) :: scale_add_push
        real(c_float) :: a
        real(c_float) :: b
        integer(c_int32_t) :: n
    end type scale_add_push

    type(gpuasync_executor) :: ex
    type(gpuasync_kernel) :: scale_add

    call new_executor(ex)
    call scale_add%create(ex, spirv_path('scale_add'))
    call replay_200_times()
    call fill_copy_dispatch()
    call one_replay_in_flight()
    call misuse()
    call scale_add%destroy()
    call finish_executor(ex)
    call finish('test_batch')

contains

    !> Elements of `got` that are not exactly `want` (NaN counts).
    integer function mismatches(got, want) result(bad)
        real(real32), intent(in) :: got(:), want(:)
        integer :: i

        bad = 0
        do i = 1, size(got)
            if (.not. (abs(got(i) - want(i)) <= 0.0_real32)) then
                if (bad < 5) print '(a, i0, a, g0, a, g0)', '     element ', i, ': got ', got(i), ', expected ', &
                    want(i)
                bad = bad + 1
            end if
        end do
    end function mismatches

    !> Random small integers 1 .. limit as reals.
    subroutine random_small(v, limit)
        real(real32), intent(out) :: v(:)
        integer, intent(in) :: limit
        real(real64) :: u(size(v))

        call random_number(u)
        v = real(1 + int(u * limit), real32)
    end subroutine random_small

    !> A random integer 0 .. limit-1.
    integer function random_below(limit)
        integer, intent(in) :: limit
        real(real64) :: u

        call random_number(u)
        random_below = min(limit - 1, int(u * limit))
    end function random_below

    !> Read a buffer of reals and wait for it.
    subroutine read_now(b, out)
        type(gpuasync_buffer), intent(in) :: b
        real(real32), intent(inout), allocatable, asynchronous :: out(:)
        integer(int64) :: ticket

        out = transfer(int(z'7FC0DEAD', int32), 0.0_real32)
        call b%read(out, ticket)
        call ex%wait(ticket)
    end subroutine read_now

    !> Two dependent dispatches (a -> b, b -> a) replayed 200 times, each
    !> replay with new (scale, offset) for both; `a` and `b` checked every 50.
    subroutine replay_200_times()
        integer, parameter :: n = 1037, replays = 200
        real(real32), allocatable :: x0(:), want_a(:), want_b(:)
        real(real32), allocatable, asynchronous :: out(:)
        type(gpuasync_buffer) :: a, b
        type(gpuasync_batch) :: batch
        type(scale_add_push) :: first, p1, p2
        integer(int64) :: ticket, last
        integer :: i, bad_a, bad_b, consecutive

        print '(/, a)', '== two dependent scale_add dispatches replayed 200 times, new push constants each time'
        allocate (x0(n), out(n))
        call random_small(x0, 64)
        call a%create(ex, x0)
        call b%create(ex, int(4 * n, int64))
        first = scale_add_push(1.0, 0.0, n)
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a, b], [ceiling(n / 64.0)], first, c_sizeof(first)), &
            gpuasync_dispatch_op(scale_add, [b, a], [ceiling(n / 64.0)], first, c_sizeof(first))])
        call check(batch%is_created(), 'a batch of two dispatches is created')
        want_a = x0
        want_b = x0
        bad_a = 0
        bad_b = 0
        consecutive = 0
        last = -1
        do i = 1, replays
            ! Doubling with a small integer offset, then halving: every value
            ! is a small integer or a half, exact in f32.
            if (mod(i, 2) == 1) then
                p1 = scale_add_push(2.0, real(random_below(8), real32), n)
            else
                p1 = scale_add_push(0.5, 0.0, n)
            end if
            p2 = scale_add_push(1.0, -real(random_below(4), real32), n)
            call batch%replay([gpuasync_push_update(1, p1, c_sizeof(p1)), gpuasync_push_update(2, p2, c_sizeof(p2))], &
                ticket)
            if (ticket == last + 1) consecutive = consecutive + 1
            last = ticket
            want_b = want_a * p1%a + p1%b
            want_a = want_b * p2%a + p2%b
            if (mod(i, 50) == 0) then
                call read_now(a, out)
                bad_a = bad_a + mismatches(out, want_a)
                call read_now(b, out)
                bad_b = bad_b + mismatches(out, want_b)
                last = -1
            end if
        end do
        call check(consecutive == replays - replays / 50, 'replays with nothing in between take consecutive tickets')
        call check(bad_a == 0, 'a after 50, 100, 150, 200 replays: every element exact')
        call check(bad_b == 0, 'b (the first dispatch''s output) after 50, 100, 150, 200 replays: every element exact')
        ! A replay without updates keeps the last push constants.
        call batch%replay(ticket=ticket)
        want_b = want_a * p1%a + p1%b
        want_a = want_b * p2%a + p2%b
        call read_now(a, out)
        call check(mismatches(out, want_a) == 0, 'a replay without updates reuses the last push constants')
        call batch%destroy()
        call check(.not. batch%is_created(), 'a destroyed batch variable is uncreated')
        call a%destroy()
        call b%destroy()
    end subroutine replay_200_times

    !> fill a, b = a * 2 + 1, copy part of b into c at an offset; timestamps.
    subroutine fill_copy_dispatch()
        integer, parameter :: n = 4096
        real(real32), allocatable :: c0(:), want(:)
        real(real32), allocatable, asynchronous :: out(:)
        type(gpuasync_buffer) :: a, b, c
        type(gpuasync_batch) :: batch
        type(scale_add_push) :: p
        type(c_gpuasync_timing) :: timing
        integer(int64) :: ticket, timed
        integer :: round

        print '(/, a)', '== fill, dispatch and copy (with offsets) in one batch; timestamps'
        allocate (c0(n), out(n))
        call random_small(c0, 1000)
        call a%create(ex, int(4 * n, int64))
        call b%create(ex, int(4 * n, int64))
        call c%create(ex, c0)
        p = scale_add_push(2.0, 1.0, n)
        call batch%create(ex, [gpuasync_fill_op(a, transfer(3.0_real32, 0_int32)), &
            gpuasync_dispatch_op(scale_add, [a, b], [n / 64, 1, 1], p, c_sizeof(p)), &
            gpuasync_copy_op(c, b, int(4 * (n / 2), int64), offset_bytes=int(4 * (n / 4), int64), &
            source_offset_bytes=int(4 * 8, int64))])
        want = c0
        want(n / 4 + 1:n / 4 + n / 2) = 7.0
        do round = 1, 3
            call batch%replay(ticket=timed, timestamps=.true.)
            call read_now(c, out)
            call check(mismatches(out, want) == 0, &
                'fill, dispatch, copy: c is 7 at the copied range, unchanged elsewhere')
            ! Change c between replays: the next replay writes the copied range again.
            call c%write(c0, ticket)
        end do
        call ex%timing(timed, timing)
        call check(timing%gpu_end_ns >= timing%gpu_begin_ns .and. timing%host_complete_ns >= timing%host_submit_ns, &
            'a replay with timestamps=.true. has a timing')
        ! A new push block for the dispatch (op 2) changes the copied values.
        p = scale_add_push(0.5, -4.0, n)
        call batch%replay([gpuasync_push_update(2, p, c_sizeof(p))], ticket)
        call read_now(c, out)
        want(n / 4 + 1:n / 4 + n / 2) = -2.5
        call check(mismatches(out, want) == 0, 'after a push update of op 2: the copied range is 3 * 0.5 - 4')
        call batch%destroy()
        call a%destroy()
        call b%destroy()
        call c%destroy()
    end subroutine fill_copy_dispatch

    !> lcg iterations that keep the device busy about 300 ms, from timestamps.
    integer(int32) function long_iterations(kernel, b, n) result(iterations)
        type(gpuasync_kernel), intent(in) :: kernel
        type(gpuasync_buffer), intent(in) :: b
        integer, intent(in) :: n
        integer(c_int32_t) :: push(2)
        type(c_gpuasync_timing) :: timing
        integer(int64) :: ticket
        real(real64) :: ns, probe

        probe = 1000
        do
            push = [int(n, c_int32_t), int(probe, c_int32_t)]
            call kernel%dispatch([b], groups=[n / 64], push=push, push_bytes=c_sizeof(push), ticket=ticket, &
                timestamps=.true.)
            call ex%wait(ticket)
            call ex%timing(ticket, timing)
            ns = max(1.0_real64, real(timing%gpu_end_ns - timing%gpu_begin_ns, real64))
            if (ns > 20.0e6_real64 .or. probe > 1.0e8_real64) exit
            probe = probe * min(1000.0_real64, max(2.0_real64, 25.0e6_real64 / ns))
        end do
        iterations = int(min(2.0e9_real64, max(1000.0_real64, probe * 300.0e6_real64 / ns)), int32)
        print '(a, i0, a)', '     long kernel: ', iterations, ' lcg iterations (~300 ms on this device)'
    end function long_iterations

    !> One replay of a batch in flight: behind a long kernel, a second replay
    !> with no_block replays nothing; without it, it waits.
    subroutine one_replay_in_flight()
        integer, parameter :: n = 256, long_n = 65536
        real(real32), allocatable :: x0(:)
        real(real32), allocatable, asynchronous :: out(:)
        type(gpuasync_buffer) :: a, b, long_buffer
        type(gpuasync_kernel) :: lcg
        type(gpuasync_batch) :: batch
        type(scale_add_push) :: add_one, back
        integer(c_int32_t) :: push(2)
        integer(int64) :: long_ticket, r1, r2, refused
        logical :: submitted
        integer :: stat
        character(len=1024) :: errmsg

        print '(/, a)', '== one replay in flight: no_block behind a long kernel'
        allocate (x0(n), out(n))
        call random_small(x0, 100)
        call a%create(ex, x0)
        call b%create(ex, int(4 * n, int64))
        call lcg%create(ex, spirv_path('lcg'))
        call long_buffer%create(ex, int(4 * long_n, int64))
        add_one = scale_add_push(1.0, 1.0, n)
        back = scale_add_push(1.0, 0.0, n)
        call batch%create(ex, [ &
            gpuasync_dispatch_op(scale_add, [a, b], [ceiling(n / 64.0)], add_one, c_sizeof(add_one)), &
            gpuasync_dispatch_op(scale_add, [b, a], [ceiling(n / 64.0)], back, c_sizeof(back))])
        push = [int(long_n, c_int32_t), long_iterations(lcg, long_buffer, long_n)]
        call lcg%dispatch([long_buffer], groups=[long_n / 64], push=push, push_bytes=c_sizeof(push), ticket=long_ticket)
        call batch%replay(ticket=r1)
        call check(r1 == long_ticket + 1, 'the first replay is queued at once behind the long kernel')
        call check(.not. ex%poll(r1), 'the first replay is still in flight')
        refused = -7
        call batch%replay(ticket=refused, no_block=.true., submitted=submitted, stat=stat, errmsg=errmsg)
        call check(stat == GPUASYNC_OK .and. .not. submitted .and. refused == 0, &
            'no_block with submitted: submitted=.false., stat 0, ticket 0')
        errmsg = ''
        call batch%replay(ticket=refused, no_block=.true., stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_WOULD_BLOCK, 'no_block without submitted')
        call batch%replay(ticket=r2, no_block=.false., submitted=submitted)
        call check(submitted .and. r2 == r1 + 1, &
            'a blocking replay waits, then takes the next ticket (refused ones take none)')
        call read_now(a, out)
        call check(mismatches(out, x0 + 2.0) == 0, 'the batch ran exactly twice: a + 2 on every element')
        call batch%destroy()
        call lcg%destroy()
        call long_buffer%destroy()
        call a%destroy()
        call b%destroy()
    end subroutine one_replay_in_flight

    !> Misuse with stat present: the status, a message, nothing changed.
    subroutine misuse()
        integer, parameter :: n = 64
        type(gpuasync_buffer) :: a, b, other_buffer
        type(gpuasync_batch) :: batch, copy, blank_batch
        type(gpuasync_executor) :: other
        type(gpuasync_batch_op) :: blank_op
        type(gpuasync_push_update) :: blank_update
        type(scale_add_push) :: p
        integer(c_int32_t) :: wrong(2), strided(6)
        real(real32), allocatable :: x0(:)
        real(real32), allocatable, asynchronous :: out(:)
        integer(int64) :: ticket
        integer :: stat
        character(len=1024) :: errmsg

        print '(/, a)', '== misuse, reported through stat and errmsg'
        allocate (x0(n), out(n))
        call random_small(x0, 10)
        call a%create(ex, x0)
        call b%create(ex, int(4 * n, int64))
        p = scale_add_push(2.0, 1.0, n)
        wrong = 1
        strided = 1

        ! create
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a], [1], p, c_sizeof(p))], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'create: a dispatch with one buffer of two')
        call check(.not. batch%is_created(), '  the batch variable stays uncreated')
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a, b], [1], wrong, c_sizeof(wrong))], stat=stat, &
            errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'create: 8 bytes of push constants for 12')
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a, b], [1, 1, 1, 1], p, c_sizeof(p))], stat=stat, &
            errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'create: four group counts')
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a, b], [1], p)], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'create: push without push_bytes')
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a, b], [1], strided(1:6:2), 12_c_size_t)], &
            stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'create: non-contiguous push constants')
        call batch%create(ex, [gpuasync_fill_op(a, 1_int32), blank_op], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'create: an op not made by a helper')
        call check(index(errmsg, 'op 2') > 0, '  the message names op 2')
        call batch%create(ex, [gpuasync_copy_op(b, a, int(8 * n, int64))], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OUT_OF_RANGE, 'create: a copy past the end of the buffers')
        call batch%create(ex, [gpuasync_fill_op(a, 1_int32, offset_bytes=2_int64)], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, &
            'create: a fill at an offset that is not a multiple of 4')
        call blank_batch%replay(ticket=ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'replay of an uncreated batch')
        call blank_batch%destroy(stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'destroy of an uncreated batch')

        ! replay
        errmsg = ''
        call batch%create(ex, [gpuasync_fill_op(b, 5_int32), &
            gpuasync_dispatch_op(scale_add, [a, b], [1], p, c_sizeof(p))], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OK, 'create: a fill and a dispatch')
        call batch%create(ex, [gpuasync_fill_op(b, 5_int32)], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'create on a variable that holds a live batch')
        ticket = -7
        call batch%replay([gpuasync_push_update(2, wrong, c_sizeof(wrong))], ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_KERNEL_MISMATCH, 'replay: a push update of 8 bytes for 12')
        call check(ticket == 0, '  the ticket of a failed replay is 0')
        call batch%replay([gpuasync_push_update(1, p, c_sizeof(p))], ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'replay: a push update of op 1, a fill')
        call check(index(errmsg, 'counts ops from 0') > 0, '  the message explains the C op numbers')
        call batch%replay([gpuasync_push_update(3, p, c_sizeof(p))], ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'replay: a push update of op 3 of 2')
        call batch%replay([gpuasync_push_update(0, p, c_sizeof(p))], ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'replay: a push update of op 0 (ops count from 1)')
        call batch%replay([blank_update], ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'replay: an update not made by gpuasync_push_update')
        ! None of the failed replays ran: b is still untouched by the batch.
        errmsg = ''
        call batch%replay(ticket=ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OK, 'replay after the failures')
        call read_now(b, out)
        call check(mismatches(out, x0 * 2.0 + 1.0) == 0, '  the recorded push constants are unchanged: b = 2a + 1')

        ! destroyed handles
        copy = batch
        errmsg = ''
        call batch%destroy(stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OK, 'destroy')
        call copy%replay(ticket=ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'replay through a copy of a destroyed batch')
        call copy%destroy(stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'destroy through a copy of a destroyed batch')
        errmsg = ''
        call copy%create(ex, [gpuasync_fill_op(b, 5_int32)], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OK, 'create over a stale (destroyed) handle')
        call b%destroy()
        call copy%replay(ticket=ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'replay of a batch whose buffer was destroyed')
        call copy%destroy()

        ! another executor
        call new_executor(other)
        call other_buffer%create(other, int(4 * n, int64))
        call batch%create(ex, [gpuasync_fill_op(other_buffer, 1_int32)], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'create: a buffer of another executor')
        call batch%create(ex, [gpuasync_dispatch_op(scale_add, [a, other_buffer], [1], p, c_sizeof(p))], stat=stat, &
            errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'create: a dispatch with a buffer of another executor')
        errmsg = ''
        call batch%create(other, [gpuasync_fill_op(other_buffer, 1_int32)], stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OK, 'create on the other executor')
        call finish_executor(other)
        call batch%replay(ticket=ticket, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_HANDLE, 'replay of a batch whose executor was destroyed')
        call a%destroy()
    end subroutine misuse
end program test_batch
