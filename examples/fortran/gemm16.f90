!> The 16-bit GEMM from Fortran: A and B go up as real32, `ex%convert` rounds
!> them to binary16 (or bfloat16) on the GPU, and `ex%gemm16` multiplies them
!> on the device's cooperative matrices (tensor cores) into a real32 C. The
!> result is compared with the real64 product of the real32 inputs: each input
!> is rounded by at most 2^-11 relative (binary16; 2^-8 for bfloat16), so C
!> differs from that product by about that much, not by real32's 2^-24.
!> Where the device has no cooperative matrices (or they are off, see
!> docs/kernels.md) the program says so and stops without error; with
!> GPUASYNC_COOPERATIVE_MATRIX=emulate it runs anywhere, slowly.
!> Usage: gemm16 [n] [bf16]   (default 256, binary16)
program gemm16
    use gpuasync
    use, intrinsic :: iso_fortran_env, only: real32, real64, int64
    implicit none

    integer :: n, type
    character(len=32) :: argument
    real(real32), allocatable :: a(:, :), b(:, :)
    real(real32), allocatable, asynchronous :: c(:, :)
    real(real64), allocatable :: reference(:, :)
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: a32, b32, a16, b16, c_gpu
    integer(int64) :: ticket
    real(real64) :: difference, bound

    n = 256
    type = GPUASYNC_F16
    if (command_argument_count() >= 1) then
        call get_command_argument(1, argument)
        read (argument, *) n
    end if
    if (command_argument_count() >= 2) then
        call get_command_argument(2, argument)
        if (argument == 'bf16') type = GPUASYNC_BF16
    end if
    allocate (a(n, n), b(n, n), c(n, n))
    call random_number(a)
    call random_number(b)
    a = a - 0.5
    b = b - 0.5

    call ex%create()
    print '(a, a)', 'device: ', ex%device_name()
    if (.not. ex%cooperative_matrix(type)) then
        print '(a)', 'no cooperative-matrix GEMM for this type here (see docs/kernels.md); nothing to do'
        call ex%destroy()
        stop
    end if
    call a32%create(ex, a)
    call b32%create(ex, b)
    ! 16-bit buffers: 2 bytes an element, in whole 32-bit words.
    call a16%create(ex, 4_int64 * ((n * n + 1) / 2))
    call b16%create(ex, 4_int64 * ((n * n + 1) / 2))
    call c_gpu%create(ex, 4_int64 * n * n)
    call ex%convert(n * n, a32, a16, type=type)    ! ordered: each op waits for what it reads
    call ex%convert(n * n, b32, b16, type=type)
    call ex%gemm16('N', 'N', n, n, n, 1.0, a16, n, b16, n, 0.0, c_gpu, n, type=type)
    call c_gpu%read(c, ticket)

    reference = matmul(real(a, real64), real(b, real64))   ! the CPU works meanwhile
    call ex%wait(ticket)
    difference = norm2(real(c, real64) - reference) / norm2(reference)
    print '(a, i0, a, a, a, es9.2)', 'gemm16 ', n, '^3 (', merge('binary16', 'bfloat16', type == GPUASYNC_F16), &
        ' inputs): ||C - A B||_F / ||A B||_F = ', difference
    call check_validation(ex)
    call ex%destroy()
    ! Rounding both inputs errs by up to 2 r relative per product (r = 2^-11
    ! or 2^-8), with random signs over the sum: a few r in the norm; the f32
    ! accumulation adds n 2^-24 at most.
    bound = 4 * merge(2.0_real64**(-11), 2.0_real64**(-8), type == GPUASYNC_F16) + n * 2.0_real64**(-24)
    if (difference > bound) error stop 'gemm16: wrong result'

contains

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
end program gemm16
