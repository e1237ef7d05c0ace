!> Your own GLSL kernel (custom_kernel.comp, compiled to SPIR-V by glslc at
!> build time) dispatched with a bind(c) struct of push constants, twice with
!> different coefficients; every element checked.
!> Usage: custom_kernel path/to/custom_kernel.spv
program custom_kernel
    use gpuasync
    use, intrinsic :: iso_c_binding, only: c_float, c_int32_t, c_sizeof
    use, intrinsic :: iso_fortran_env, only: real32, real64, int64
    implicit none

    !> Mirrors `layout(push_constant) uniform Quadratic { float a, b, c; uint n; }`.
    type, bind(c) :: quadratic
        real(c_float) :: a, b, c
        integer(c_int32_t) :: n
    end type quadratic

    integer :: n, bad, i, round, local(3), push_bytes
    real(real32), allocatable :: x(:)
    real(real32), allocatable, asynchronous :: y(:)
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: x_gpu, y_gpu
    type(gpuasync_kernel) :: kernel
    type(quadratic) :: q
    integer(int64) :: ticket
    character(len=4096) :: spv
    real(real64) :: want, scale

    spv = 'custom_kernel.spv'
    if (command_argument_count() >= 1) call get_command_argument(1, spv)
    n = 50000
    allocate (x(n), y(n))
    call random_number(x)
    x = 4 * x - 2

    call ex%create()
    call kernel%create(ex, trim(spv))
    call kernel%info(push_constant_bytes=push_bytes, local_size=local)
    print '(a, i0, a, i0, a)', 'kernel: ', push_bytes, ' bytes of push constants, workgroups of ', local(1), &
        ' invocations'
    call x_gpu%create(ex, x)
    call y_gpu%create(ex, int(n, int64) * 4)
    bad = 0
    do round = 1, 2
        q = quadratic(a=0.5 * round, b=-1.25, c=0.75 / round, n=n)
        call kernel%dispatch([x_gpu, y_gpu], groups=[(n + local(1) - 1) / local(1)], push=q, &
            push_bytes=c_sizeof(q))
        call y_gpu%read(y, ticket)
        call ex%wait(ticket)
        do i = 1, n
            want = (real(q%a, real64) * x(i) + q%b) * x(i) + q%c
            scale = abs(q%a * x(i) * x(i)) + abs(q%b * x(i)) + abs(q%c)
            if (abs(y(i) - want) > 8 * epsilon(1.0_real32) * scale) bad = bad + 1
        end do
        print '(a, 3f7.3, a, i0, a, i0, a)', 'y = a*x**2 + b*x + c with a, b, c =', q%a, q%b, q%c, ': ', &
            n, ' elements, ', bad, ' wrong so far'
    end do
    call check_validation(ex)
    call ex%destroy()
    if (bad /= 0) error stop 'custom_kernel: wrong results'

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
end program custom_kernel
