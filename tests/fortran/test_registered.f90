!> Registered host memory from Fortran: page-aligned arrays (from C's
!> posix_memalign, viewed through c_f_pointer) registered with ex%register,
!> a write from one and a read into another, random data, every element
!> compared; and the errors (non-contiguous, misaligned, unknown array).
program test_registered
    use gpuasync
    use gpuasync_test_support
    use, intrinsic :: iso_c_binding, only: c_ptr, c_int, c_size_t, c_f_pointer, c_associated, c_null_ptr
    use, intrinsic :: iso_fortran_env, only: real64, int64
    implicit none

    interface
        function posix_memalign(memptr, alignment, size) result(status) bind(c, name="posix_memalign")
            import :: c_ptr, c_int, c_size_t
            type(c_ptr), intent(out) :: memptr
            integer(c_size_t), value, intent(in) :: alignment, size
            integer(c_int) :: status
        end function posix_memalign

        subroutine free(pointer) bind(c, name="free")
            import :: c_ptr
            type(c_ptr), value, intent(in) :: pointer
        end subroutine free
    end interface

    integer, parameter :: n = 4096
    integer(c_size_t), parameter :: bytes = n * 8_c_size_t
    type(gpuasync_executor) :: ex
    type(gpuasync_buffer) :: b
    type(c_ptr) :: px, py
    real(real64), pointer, asynchronous :: x(:, :), y(:)
    real(real64), allocatable :: v(:)
    integer(int64) :: ticket
    integer :: stat
    character(len=512) :: errmsg

    call new_executor(ex)
    px = c_null_ptr
    py = c_null_ptr
    call check(posix_memalign(px, 65536_c_size_t, bytes) == 0 .and. posix_memalign(py, 65536_c_size_t, bytes) == 0, &
        'posix_memalign of two 64 KiB-aligned arrays')
    if (.not. (c_associated(px) .and. c_associated(py))) error stop 1
    call c_f_pointer(px, x, [64, n / 64])
    call c_f_pointer(py, y, [n])
    allocate (v(n))
    call random_reals(v)
    x = reshape(v, [64, n / 64])
    y = 0
    errmsg = ''

    call ex%register(y(2:), stat=stat, errmsg=errmsg)
    if (stat /= GPUASYNC_UNSUPPORTED) call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, &
        'ex%register of a misaligned array')
    errmsg = ''
    call ex%register(x, stat=stat, errmsg=errmsg)
    if (stat == GPUASYNC_UNSUPPORTED) then
        print '(a)', 'SKIP: the device lacks VK_EXT_external_memory_host'
    else
        call check_status(stat, errmsg, GPUASYNC_OK, 'ex%register(x), rank 2')
        call ex%register(y, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_OK, 'ex%register(y), rank 1')
        call ex%register(y, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'ex%register(y) again (overlap)')
        call ex%register(x(1:32, :), stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'ex%register of a non-contiguous section')
        call ex%unregister(v, stat=stat, errmsg=errmsg)
        call check_status(stat, errmsg, GPUASYNC_INVALID_ARGUMENT, 'ex%unregister of an unregistered array')

        call b%create(ex, int(bytes, int64))
        call b%write(x, ticket)
        call b%read(y, ticket)
        call ex%unregister(x)
        call ex%wait(ticket)
        call check(all(y == v), 'write from registered x, read into registered y: every element')
        call ex%unregister(y)
        call b%destroy()
    end if
    call finish_executor(ex)
    call free(px)
    call free(py)
    call finish('test_registered')
end program test_registered
