!> The asynchronous pipeline: a stream of chunks through a GPU kernel, with at
!> most `depth` chunks in flight. While the GPU computes chunk i, the CPU
!> prepares chunk i+1 and checks the result of chunk i-1 (and older ones).
!> Every element of every chunk is checked against the CPU; wall time (after
!> the last result has landed) and GPU time (timestamps) are printed.
!>
!> Usage: pipeline [lcg.spv] [chunks] [elements per chunk] [depth]
program pipeline
    use gpuasync
    use, intrinsic :: iso_c_binding, only: c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: int32, int64, real64
    implicit none

    !> The lcg kernel's push constants: { uint n; uint iterations; }
    type, bind(c) :: lcg_push
        integer(c_int32_t) :: n
        integer(c_int32_t) :: iterations
    end type lcg_push

    integer, parameter :: iterations = 64
    integer :: chunks, n, depth, i, slot, bad, overlapped
    character(len=4096) :: spv, argument
    type(gpuasync_executor) :: ex
    type(gpuasync_kernel) :: lcg
    type(gpuasync_buffer), allocatable :: data(:)
    integer(int32), allocatable :: inputs(:, :)
    integer(int32), allocatable, asynchronous :: results(:, :)
    integer(int64), allocatable :: write_ticket(:), run_ticket(:), read_ticket(:), gpu_begin(:), gpu_end(:)
    integer(int64) :: t0, t1, rate, busy_ns
    type(lcg_push) :: push
    integer(int32) :: a_mul, a_add

    spv = 'spirv/lcg.spv'
    chunks = 24
    n = 65536
    depth = 3
    if (command_argument_count() >= 1) call get_command_argument(1, spv)
    if (command_argument_count() >= 2) then
        call get_command_argument(2, argument)
        read (argument, *) chunks
    end if
    if (command_argument_count() >= 3) then
        call get_command_argument(3, argument)
        read (argument, *) n
    end if
    if (command_argument_count() >= 4) then
        call get_command_argument(4, argument)
        read (argument, *) depth
    end if

    call ex%create()
    call lcg%create(ex, trim(spv))
    allocate (data(depth), inputs(n, depth), results(n, depth))
    allocate (write_ticket(depth), run_ticket(depth), read_ticket(depth))
    allocate (gpu_begin(3 * chunks), gpu_end(3 * chunks))
    do slot = 1, depth
        call data(slot)%create(ex, int(n, int64) * 4)
    end do
    call lcg_affine(iterations, a_mul, a_add)
    push = lcg_push(n, iterations)
    bad = 0
    overlapped = 0

    call system_clock(t0, rate)
    do i = 1, chunks + depth
        slot = modulo(i - 1, depth) + 1
        ! Chunk i - depth held this slot: consume its result (waits only if the
        ! GPU is behind), which frees the slot for chunk i.
        if (i > depth) call consume(i - depth, slot)
        if (i > chunks) cycle
        ! Prepare chunk i on the CPU while the GPU runs chunks i-depth+1 .. i-1.
        call prepare(i, inputs(:, slot))
        if (i > 1) then
            if (.not. ex%poll(read_ticket(modulo(i - 2, depth) + 1))) overlapped = overlapped + 1
        end if
        ! Submit chunk i: upload, kernel, download. Each returns at once; the
        ! executor orders them on the GPU because they share data(slot).
        call data(slot)%write(inputs(:, slot), write_ticket(slot), timestamps=.true.)
        call lcg%dispatch([data(slot)], groups=[(n + 63) / 64], push=push, push_bytes=c_sizeof(push), &
            ticket=run_ticket(slot), timestamps=.true.)
        call data(slot)%read(results(:, slot), read_ticket(slot), timestamps=.true.)
    end do
    call system_clock(t1)

    busy_ns = sum(gpu_end - gpu_begin)
    print '(a, a)', 'device: ', ex%device_name()
    print '(i0, a, i0, a, i0, a, i0, a)', chunks, ' chunks of ', n, ' elements, ', iterations, &
        ' LCG steps each, at most ', depth, ' chunks in flight'
    print '(a, i0, a, i0, a)', 'CPU preparation overlapped a running GPU chunk ', overlapped, ' of ', &
        chunks - 1, ' times'
    print '(a, f10.3, a)', 'wall time (all results landed): ', 1.0e3_real64 * real(t1 - t0, real64) / rate, ' ms'
    print '(a, f10.3, a, f10.3, a, f6.1, a)', 'GPU busy time (timestamps):     ', busy_ns / 1.0e6_real64, &
        ' ms over a span of ', (maxval(gpu_end) - minval(gpu_begin)) / 1.0e6_real64, ' ms (', &
        100 * real(busy_ns, real64) / max(1_int64, maxval(gpu_end) - minval(gpu_begin)), '% busy)'
    print '(a, i0, a, i0)', 'elements checked: ', int(chunks, int64) * n, ', wrong: ', bad
    call check_validation(ex)
    call ex%destroy()
    if (bad /= 0) error stop 'pipeline: wrong results'

contains

    !> Chunk `chunk`'s input: a deterministic, nonzero pseudo-random stream.
    subroutine prepare(chunk, input)
        integer, intent(in) :: chunk
        integer(int32), intent(out) :: input(:)
        integer(int64) :: state
        integer :: k

        state = 88172645463325252_int64 + chunk
        do k = 1, size(input)
            state = ieor(state, ishft(state, 13))
            state = ieor(state, ishft(state, -7))
            state = ieor(state, ishft(state, 17))
            input(k) = to_int32(ishft(state, -32))
            if (input(k) == 0) input(k) = 1
        end do
    end subroutine prepare

    !> Wait for chunk `chunk` (in `slot`) and check every element.
    subroutine consume(chunk, slot)
        integer, intent(in) :: chunk, slot
        integer(int64), parameter :: mask = 4294967295_int64
        integer(int64) :: want
        integer :: k

        call ex%wait(read_ticket(slot))
        call record_timing(3 * chunk - 2, write_ticket(slot))
        call record_timing(3 * chunk - 1, run_ticket(slot))
        call record_timing(3 * chunk, read_ticket(slot))
        do k = 1, n
            want = iand(iand(int(a_mul, int64), mask) * iand(int(inputs(k, slot), int64), mask) &
                + iand(int(a_add, int64), mask), mask)
            if (iand(int(results(k, slot), int64), mask) /= want) then
                if (bad < 5) print '(a, i0, a, i0)', 'wrong element ', k, ' of chunk ', chunk
                bad = bad + 1
            end if
        end do
    end subroutine consume

    !> Record the GPU span of a ticket of a consumed chunk (already complete:
    !> the chunk's read ran after its write and kernel).
    subroutine record_timing(index, ticket)
        integer, intent(in) :: index
        integer(int64), intent(in) :: ticket
        type(c_gpuasync_timing) :: timing

        call ex%wait(ticket)
        call ex%timing(ticket, timing)
        gpu_begin(index) = timing%gpu_begin_ns
        gpu_end(index) = timing%gpu_end_ns
    end subroutine record_timing

    !> `steps` LCG steps x -> 1664525 x + 1013904223 (mod 2**32) as one affine map.
    subroutine lcg_affine(steps, mul, add)
        integer, intent(in) :: steps
        integer(int32), intent(out) :: mul, add
        integer(int64), parameter :: mask = 4294967295_int64
        integer(int64) :: m, c
        integer :: k

        m = 1
        c = 0
        do k = 1, steps
            m = iand(m * 1664525_int64, mask)
            c = iand(c * 1664525_int64 + 1013904223_int64, mask)
        end do
        mul = to_int32(m)
        add = to_int32(c)
    end subroutine lcg_affine

    !> An unsigned 32-bit value (held in an int64) as the int32 of the same bits.
    elemental integer(int32) function to_int32(u)
        integer(int64), intent(in) :: u

        to_int32 = int(merge(u - 4294967296_int64, u, u >= 2147483648_int64), int32)
    end function to_int32

    !> Under the test command (GPUASYNC_VALIDATION=1) the Khronos validation
    !> layer must be on and silent.
    subroutine check_validation(ex)
        type(gpuasync_executor), intent(in) :: ex
        character(len=8) :: setting
        logical :: enabled
        integer(int64) :: messages

        call get_environment_variable('GPUASYNC_VALIDATION', setting)
        if (setting /= '1') return
        call ex%validation(enabled, messages)
        if (.not. enabled) error stop 'validation was asked for but is not on'
        if (messages /= 0) error stop 'the validation layer reported messages'
    end subroutine check_validation
end program pipeline
