!> Kernels from a .spv file and from words in memory; dispatch with buffers,
!> push constants (a bind(c) derived type, an integer array), specialization
!> constants and group counts; poll, wait with and without a timeout; GPU
!> timestamps. Random data; every element checked against a CPU reference.
program test_kernels
    use gpuasync
    use gpuasync_test_support
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, real64, int32, int64
    implicit none

    type, bind(c) :: saxpy_push
        real(c_float) :: a
        integer(c_int32_t) :: n
    end type saxpy_push

    type(gpuasync_executor) :: ex

    call new_executor(ex)
    call saxpy_from_file()
    call lcg_from_words()
    call spec_fill()
    call finish_executor(ex)
    call finish('test_kernels')

contains

    !> saxpy from its .spv file, push constants in a bind(c) type, timestamps.
    subroutine saxpy_from_file()
        integer, parameter :: n = 10007
        real(real64), allocatable :: v(:)
        real(real32), allocatable :: x(:), y(:)
        real(real32), allocatable, asynchronous :: result(:)
        type(gpuasync_buffer) :: xb, yb
        type(gpuasync_kernel) :: kernel
        type(saxpy_push) :: push
        type(c_gpuasync_timing) :: timing
        integer(int64) :: dispatched, ticket
        integer :: bindings, push_bytes, local(3), bad, i
        logical :: completed
        real(real64) :: want

        allocate (v(2 * n))
        call random_reals(v)
        x = real(v(1:n), real32)
        y = real(v(n + 1:), real32)
        allocate (result(n))
        call kernel%create(ex, spirv_path('saxpy'))
        call kernel%info(bindings, push_bytes, local)
        call check(bindings == 2 .and. push_bytes == 8 .and. all(local == [64, 1, 1]), &
            'saxpy interface: 2 bindings, 8 bytes of push constants, 64x1x1')
        call xb%create(ex, x)
        call yb%create(ex, y)
        push = saxpy_push(-1.75, n)
        call kernel%dispatch([xb, yb], groups=[(n + local(1) - 1) / local(1), 1, 1], push=push, &
            push_bytes=c_sizeof(push), ticket=dispatched, timestamps=.true.)
        call yb%read(result, ticket)
        call ex%wait(ticket, timeout=60.0_real64, completed=completed)
        call check(completed, 'wait with a timeout completes')
        call check(ex%poll(dispatched), 'an older ticket polls complete')
        bad = 0
        do i = 1, n
            want = -1.75_real64 * x(i) + y(i)
            if (abs(result(i) - want) > 4 * epsilon(1.0_real32) * (1.75_real64 * abs(x(i)) + abs(y(i)))) bad = bad + 1
        end do
        call check(bad == 0, 'saxpy: every element within 4 ulps of a*x+y')
        call ex%timing(dispatched, timing)
        call check(timing%gpu_end_ns > timing%gpu_begin_ns, 'the dispatch has a GPU time span')
        call per_op_timing(yb, timing)
        call kernel%destroy()
        call xb%destroy()
        call yb%destroy()
    end subroutine saxpy_from_file

    !> Per-op timestamps through the raw C call: op 1 of a fill submitted with
    !> GPUASYNC_SUBMIT_OP_TIMESTAMPS has a span inside the submission's; op 2
    !> does not exist; a ticket without the flag has no per-op timing.
    subroutine per_op_timing(buf, plain_timing)
        type(gpuasync_buffer), intent(in) :: buf
        type(c_gpuasync_timing), intent(in) :: plain_timing
        type(c_gpuasync_timing) :: whole, op
        integer(int64) :: ticket
        integer :: status

        status = int(gpuasync_buffer_fill(ex%handle, buf%handle, 0_int64, 64_int64, 7_c_int32_t, &
            int(GPUASYNC_SUBMIT_OP_TIMESTAMPS, c_int32_t), ticket))
        call check(status == GPUASYNC_OK, 'a fill with per-op timestamps is submitted')
        call ex%wait(ticket)
        call ex%timing(ticket, whole)
        call ex%op_timing(ticket, 1, op)
        call check(op%gpu_begin_ns >= whole%gpu_begin_ns .and. op%gpu_end_ns <= whole%gpu_end_ns &
            .and. op%gpu_end_ns >= op%gpu_begin_ns, 'op 1''s span lies inside the submission''s')
        call ex%op_timing(ticket, 2, op, stat=status)
        call check(status == GPUASYNC_NOT_FOUND, 'there is no op 2: NOT_FOUND')
        call ex%op_timing(ticket, 0, op, stat=status)
        call check(status == GPUASYNC_INVALID_ARGUMENT, 'op 0: INVALID_ARGUMENT (ops count from 1)')
        call check(plain_timing%gpu_end_ns >= plain_timing%gpu_begin_ns, 'the earlier timing is intact')
    end subroutine per_op_timing

    !> lcg from SPIR-V words read into memory; integer push constants; a
    !> polled wait; exact 32-bit arithmetic checked on every element.
    subroutine lcg_from_words()
        integer, parameter :: n = 4099
        integer(int32), allocatable :: words(:)
        integer(int32) :: data(n)
        integer(int32), allocatable, asynchronous :: result(:)
        integer(c_int32_t) :: push(2)
        type(gpuasync_buffer) :: b
        type(gpuasync_kernel) :: kernel
        integer(int64) :: ticket, x, mask
        integer :: unit, bytes, i, k, bad, polls

        open (newunit=unit, file=spirv_path('lcg'), access='stream', form='unformatted', status='old')
        inquire (unit=unit, size=bytes)
        allocate (words(bytes / 4))
        read (unit) words
        close (unit)
        call kernel%create(ex, words)
        call random_ints32(data)
        allocate (result(n))
        call b%create(ex, data)
        push = [int(n, c_int32_t), 37_c_int32_t]
        call kernel%dispatch([b], groups=[ceiling(n / 64.0)], push=push, push_bytes=c_sizeof(push))
        call b%read(result, ticket)
        polls = 0
        do while (.not. ex%poll(ticket))
            polls = polls + 1
        end do
        call check(ex%poll(ticket), 'polling a complete ticket again is still complete')
        mask = 4294967295_int64
        bad = 0
        do i = 1, n
            x = iand(int(data(i), int64), mask)
            do k = 1, 37
                x = iand(x * 1664525_int64 + 1013904223_int64, mask)
            end do
            if (iand(int(result(i), int64), mask) /= x) bad = bad + 1
        end do
        call check(bad == 0, 'lcg from words: every element equals 37 steps computed on the CPU')
        call kernel%destroy()
        call b%destroy()
    end subroutine lcg_from_words

    !> spec_fill with specialization constants: workgroup size and value.
    subroutine spec_fill()
        integer, parameter :: n = 1000
        integer(int32) :: seed(1), expected(n)
        integer(int32), allocatable, asynchronous :: result(:)
        integer(c_int32_t) :: push
        type(gpuasync_buffer) :: b
        type(gpuasync_kernel) :: kernel
        integer(int64) :: ticket
        integer :: local(3), i

        call random_ints32(seed)
        seed = iand(seed, 65535_int32) + 1
        call kernel%create(ex, spirv_path('spec_fill'), entry='main', spec_ids=[0, 1], spec_values=[32_int32, seed(1)])
        call kernel%info(local_size=local)
        call check(local(1) == 32, 'a specialization constant sets the workgroup size')
        allocate (result(n))
        call b%create(ex, int(4 * n, int64))
        push = n
        call kernel%dispatch([b], groups=[ceiling(n / 32.0)], push=push, push_bytes=c_sizeof(push))
        call b%read(result, ticket)
        call ex%wait(ticket)
        expected = [(seed(1) + i - 1, i = 1, n)]
        call check(all(result == expected), 'spec_fill: every element is value + i')
        call kernel%destroy()
        call b%destroy()
    end subroutine spec_fill
end program test_kernels
